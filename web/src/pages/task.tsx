import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Failure, Status } from '../components/status';
import { useApp } from '../context';
import { dueText, kindLabel } from '../format';
import { hrefOf, navigate, type Route } from '../router';
import { isForbidden, useLoad } from '../use-load';
import { Forbidden } from './forbidden';
import { listFilters } from './work-list';

interface TaskDetail {
  readonly taskId: string;
  readonly kind: string;
  readonly siteId: string;
  readonly dueAt: string;
  readonly status?: string;
  readonly urgent?: boolean;
  readonly escalatedAt?: string;
  readonly heldBy?: string;
  readonly kioskId?: string;
  readonly enrollmentId?: string;
  readonly outcome?: string;
  readonly doNotContact?: boolean;
  readonly doNotContactReason?: unknown;
  readonly consent?: unknown;
  readonly contact?: { phone?: string; topic?: string } | null;
}

const OUTCOMES = [
  { value: 'reached', label: 'Reached the person' },
  { value: 'no-answer', label: 'No answer' },
  { value: 'declined', label: 'Declined' },
  { value: 're-engaged', label: 'Re-engaged in care' },
] as const;

/** Why a task must not lead to contact, in the words the API gives, else the consent rule. */
function doNotContactReason(task: TaskDetail): string {
  const reason = task.doNotContactReason;
  if (typeof reason === 'string' && reason) return reason;
  return 'The person has not consented to outreach (or withdrew consent). Record the task; do not call or text.';
}

/**
 * One task: the one place contact details show. Opening it reads them, and the API records that
 * read (who, when) before it answers; the page says so. Completing it with an outcome closes it.
 */
export function TaskPage({ taskId }: { taskId: string; route: Route }) {
  const { api } = useApp();
  const [outcome, setOutcome] = useState('');
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<{ text: string; problem?: boolean } | undefined>();
  const [load, reload] = useLoad(async () => {
    const [task, health] = await Promise.all([
      api.get<TaskDetail>(`/v1/outreach/tasks/${encodeURIComponent(taskId)}`),
      api.get<{ now?: string }>('/health'),
    ]);
    return { task, now: new Date(health.now ?? Date.now()) };
  }, taskId);

  if (load.state === 'failed' && isForbidden(load.error))
    return <Forbidden page="Task" need={['admin', 'outreach']} />;
  if (load.state === 'loading') return <p class="loading">Loading the task…</p>;
  if (load.state === 'failed')
    return (
      <section>
        <h1>Task</h1>
        <Failure error={load.error} what="This task" retry={reload} />
        <p>
          <a href={hrefOf('/tasks')}>Back to the work list</a>
        </p>
      </section>
    );

  const { task, now } = load.value;
  const complete = async (event: Event) => {
    event.preventDefault();
    if (!outcome) {
      setMessage({ text: 'Choose an outcome first.', problem: true });
      return;
    }
    setBusy(true);
    try {
      await api.post(`/v1/outreach/tasks/${encodeURIComponent(task.taskId)}/complete`, { outcome });
      navigate('/tasks', { ...listFilters(), done: '1' });
    } catch (error) {
      setMessage({
        text: error instanceof ApiError ? error.message : 'That did not work; try again.',
        problem: true,
      });
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="task-title" class="task-detail">
      <p>
        <a href={hrefOf('/tasks', listFilters())}>← Work list</a>
      </p>
      <h1 id="task-title">{kindLabel(task.kind)}</h1>
      <dl class="facts">
        <dt>Site</dt>
        <dd>{task.siteId}</dd>
        <dt>Due</dt>
        <dd>
          <time dateTime={task.dueAt}>{dueText(task.dueAt, now)}</time> ({new Date(task.dueAt).toUTCString()})
        </dd>
        <dt>Held by</dt>
        <dd>{task.heldBy ?? 'nobody'}</dd>
        {task.urgent && (
          <>
            <dt>Urgency</dt>
            <dd>Urgent</dd>
          </>
        )}
        {task.escalatedAt && (
          <>
            <dt>Escalated</dt>
            <dd>
              <time dateTime={task.escalatedAt}>{new Date(task.escalatedAt).toUTCString()}</time>
            </dd>
          </>
        )}
        {task.kioskId && (
          <>
            <dt>Kiosk</dt>
            <dd>{task.kioskId}</dd>
          </>
        )}
      </dl>
      {task.doNotContact ? (
        <div class="notice dnc" role="note" aria-labelledby="dnc-title">
          <h2 id="dnc-title">Do not contact</h2>
          <p>{doNotContactReason(task)}</p>
        </div>
      ) : task.contact ? (
        <section class="contact" aria-labelledby="contact-title">
          <h2 id="contact-title">Contact</h2>
          {task.contact.phone && (
            <p>
              Phone: <a href={`tel:${task.contact.phone}`}>{task.contact.phone}</a>
            </p>
          )}
          {task.contact.topic && <p>Asked about: {task.contact.topic}</p>}
          <p class="help">Opening this task recorded that you read these details (who and when).</p>
        </section>
      ) : (
        <p class="help">No contact details are kept for this task.</p>
      )}
      {task.status === 'completed' ? (
        <p class="notice">This task is completed{task.outcome ? ` (${task.outcome})` : ''}.</p>
      ) : (
        <form class="complete" onSubmit={complete}>
          <fieldset>
            <legend>Outcome</legend>
            {OUTCOMES.map((choice) => (
              <div class="choice" key={choice.value}>
                <input
                  type="radio"
                  id={`outcome-${choice.value}`}
                  name="outcome"
                  value={choice.value}
                  checked={outcome === choice.value}
                  onChange={() => setOutcome(choice.value)}
                />
                <label for={`outcome-${choice.value}`}>{choice.label}</label>
              </div>
            ))}
          </fieldset>
          <button type="submit" class="primary" disabled={busy}>
            Complete the task
          </button>
        </form>
      )}
      <Status message={message} />
    </section>
  );
}
