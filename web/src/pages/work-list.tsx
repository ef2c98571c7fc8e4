import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../api';
import { Failure, Status } from '../components/status';
import { useApp } from '../context';
import { dueText, kindLabel, TASK_KINDS } from '../format';
import { hrefOf, navigate, type Route } from '../router';
import { byUrgency, type TaskSummary } from '../tasks';
import { isForbidden, useLoad } from '../use-load';
import { Forbidden } from './forbidden';

interface TaskPage {
  readonly tasks: TaskSummary[];
  readonly next?: string;
}

const PAGE_SIZE = 25;

/** The filters of the list last shown, so that a task opened from it leads back to the same list. */
let lastFilters: Record<string, string> = {};
export function listFilters(): Record<string, string> {
  return lastFilters;
}

function listQuery(filters: URLSearchParams, next?: string): string {
  const query = new URLSearchParams({ status: 'open', limit: String(PAGE_SIZE) });
  const site = filters.get('site');
  const kind = filters.get('kind');
  if (site) query.set('siteId', site);
  if (kind) query.set('kind', kind);
  if (filters.get('overdue') === '1') query.set('overdue', 'true');
  if (filters.get('mine') === '1') query.set('mine', 'true');
  if (next) query.set('next', next);
  return `/v1/outreach/tasks?${query}`;
}

export function WorkList({ route }: { route: Route }) {
  const { api, session } = useApp();
  const filters = route.query;
  const key = listQuery(filters);
  lastFilters = Object.fromEntries([...filters.entries()].filter(([name]) => name !== 'done'));
  const [message, setMessage] = useState<{ text: string; problem?: boolean } | undefined>(() =>
    filters.get('done') ? { text: 'Task completed: it has left the list.' } : undefined,
  );
  const [more, setMore] = useState<TaskPage[]>([]);
  const [load, reload] = useLoad(async () => {
    const [page, health, staff] = await Promise.all([
      api.get<TaskPage>(key),
      api.get<{ now?: string }>('/health'),
      api.get<{ staff?: { username: string }[] }>('/v1/staff').catch(() => ({ staff: [] })),
    ]);
    return {
      page,
      now: new Date(health.now ?? Date.now()),
      colleagues: (staff.staff ?? [])
        .map((member) => member.username)
        .filter((name) => name !== session.username),
    };
  }, key);
  useEffect(() => setMore([]), [key]);

  // What is typed stays while the list reloads; it follows the address when that changes the site.
  const [siteText, setSiteText] = useState(filters.get('site') ?? '');
  const routeSite = filters.get('site') ?? '';
  useEffect(() => setSiteText(routeSite), [routeSite]);

  const setFilter = (name: string, value: string | undefined) => {
    const next: Record<string, string | undefined> = Object.fromEntries(filters.entries());
    delete next.done;
    next[name] = value || undefined;
    navigate('/tasks', next);
  };

  const act = async (task: TaskSummary, action: 'claim' | 'release' | 'handover', to?: string) => {
    try {
      const held = await api.post<TaskSummary>(
        `/v1/outreach/tasks/${encodeURIComponent(task.taskId)}/${action}`,
        action === 'handover' ? { to } : undefined,
      );
      setMessage({
        text:
          action === 'claim'
            ? `You hold “${kindLabel(task.kind)}” at ${task.siteId} now.`
            : action === 'release'
              ? `Released “${kindLabel(task.kind)}” at ${task.siteId}: nobody holds it.`
              : `Handed “${kindLabel(task.kind)}” at ${task.siteId} to ${held.heldBy ?? to}.`,
      });
      setMore([]);
      reload();
    } catch (error) {
      setMessage({
        text: error instanceof ApiError ? error.message : 'That did not work; try again.',
        problem: true,
      });
      if (error instanceof ApiError && error.status === 409) reload();
    }
  };

  if (load.state === 'failed' && isForbidden(load.error))
    return <Forbidden page="Work list" need={['admin', 'outreach']} />;

  const pages = load.state === 'ready' ? [load.value.page, ...more] : [];
  const tasks = pages.flatMap((page) => page.tasks).sort(byUrgency);
  const next = pages.at(-1)?.next;

  return (
    <section aria-labelledby="work-list-title">
      <h1 id="work-list-title">Work list</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()} aria-label="Filter the tasks">
        <div class="field">
          <label for="filter-site">Site</label>
          <input
            id="filter-site"
            type="search"
            value={siteText}
            placeholder="any site"
            onInput={(event) => setSiteText((event.target as HTMLInputElement).value)}
            onChange={(event) => setFilter('site', (event.target as HTMLInputElement).value.trim())}
          />
        </div>
        <div class="field">
          <label for="filter-kind">Kind</label>
          <select
            id="filter-kind"
            value={filters.get('kind') ?? ''}
            onChange={(event) => setFilter('kind', (event.target as HTMLSelectElement).value)}
          >
            <option value="">any kind</option>
            {TASK_KINDS.map((kind) => (
              <option key={kind} value={kind}>
                {kindLabel(kind)}
              </option>
            ))}
          </select>
        </div>
        {(
          [
            ['overdue', 'Overdue only'],
            ['mine', 'Mine only'],
          ] as const
        ).map(([name, label]) => (
          <div class="field check" key={name}>
            <input
              id={`filter-${name}`}
              type="checkbox"
              checked={filters.get(name) === '1'}
              onChange={(event) =>
                setFilter(name, (event.target as HTMLInputElement).checked ? '1' : undefined)
              }
            />
            <label for={`filter-${name}`}>{label}</label>
          </div>
        ))}
      </form>
      <Status message={message} />
      {load.state === 'loading' && <p class="loading">Loading tasks…</p>}
      {load.state === 'failed' && <Failure error={load.error} what="The tasks" retry={reload} />}
      {load.state === 'ready' && tasks.length === 0 && <p class="empty">No open tasks match.</p>}
      {load.state === 'ready' && tasks.length > 0 && (
        <ul class="tasks" aria-label="Open tasks">
          {tasks.map((task) => (
            <TaskItem
              key={task.taskId}
              task={task}
              now={load.value.now}
              me={session.username}
              admin={session.groups.includes('admin')}
              colleagues={load.value.colleagues}
              onAct={act}
            />
          ))}
        </ul>
      )}
      {next && (
        <button
          type="button"
          class="more"
          onClick={async () => {
            try {
              setMore([...more, await api.get<TaskPage>(listQuery(filters, next))]);
            } catch (error) {
              setMessage({ text: (error as Error).message, problem: true });
            }
          }}
        >
          Show more tasks
        </button>
      )}
    </section>
  );
}

function TaskItem(props: {
  task: TaskSummary;
  now: Date;
  me: string;
  admin: boolean;
  colleagues: string[];
  onAct: (task: TaskSummary, action: 'claim' | 'release' | 'handover', to?: string) => Promise<void>;
}) {
  const { task, now, me } = props;
  const [to, setTo] = useState('');
  const overdue = Date.parse(task.dueAt) < now.getTime();
  const mine = task.heldBy === me;
  const title = kindLabel(task.kind);
  const canHandOver = !task.heldBy || mine || props.admin;
  const selectId = `handover-${task.taskId}`;
  return (
    <li class={`task${task.urgent ? ' urgent' : ''}`}>
      <div class="task-head">
        <a class="task-title" href={hrefOf(`/tasks/${encodeURIComponent(task.taskId)}`)}>
          {title}
          <span class="visually-hidden"> at {task.siteId}</span>
        </a>
        <span class="badges">
          {task.urgent && <span class="badge urgent">Urgent</span>}
          {overdue && <span class="badge overdue">Overdue</span>}
          {task.escalatedAt && <span class="badge escalated">Escalated</span>}
          {task.doNotContact && <span class="badge dnc">Do not contact</span>}
        </span>
      </div>
      <p class="meta">
        <span>Site {task.siteId}</span>
        <span>
          <time dateTime={task.dueAt}>{dueText(task.dueAt, now)}</time>
        </span>
        <span class="holder">
          {task.heldBy ? (mine ? 'Held by you' : `Held by ${task.heldBy}`) : 'Nobody holds it'}
        </span>
      </p>
      <div class="actions">
        {!task.heldBy && (
          <button type="button" onClick={() => void props.onAct(task, 'claim')}>
            Claim
            <span class="visually-hidden">
              {' '}
              {title} at {task.siteId}
            </span>
          </button>
        )}
        {task.heldBy && (mine || props.admin) && (
          <button type="button" onClick={() => void props.onAct(task, 'release')}>
            Release
            <span class="visually-hidden">
              {' '}
              {title} at {task.siteId}
            </span>
          </button>
        )}
        {canHandOver && props.colleagues.length > 0 && (
          <span class="handover">
            <label for={selectId} class="visually-hidden">
              Hand {title} at {task.siteId} to
            </label>
            <select
              id={selectId}
              value={to}
              onChange={(event) => setTo((event.target as HTMLSelectElement).value)}
            >
              <option value="">Hand over to…</option>
              {props.colleagues.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
            <button type="button" disabled={!to} onClick={() => void props.onAct(task, 'handover', to)}>
              Hand over
              <span class="visually-hidden">
                {' '}
                {title} at {task.siteId}
              </span>
            </button>
          </span>
        )}
      </div>
    </li>
  );
}
