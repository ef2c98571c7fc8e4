import { useState } from 'preact/hooks';
import { BarChart } from '../components/chart';
import { type CsvLink, Figure } from '../components/figure';
import { Failure, Status } from '../components/status';
import { useApp } from '../context';
import {
  addDays,
  dayOf,
  definitionOf,
  definitionText,
  plotted,
  showCount,
  showNumber,
  showRate,
} from '../format';
import { navigate, type Route } from '../router';
import { isForbidden, useLoad } from '../use-load';
import { Forbidden } from './forbidden';

type Report = Record<string, unknown>;

const COLORS = {
  primary: '#1f5fa8',
  survived: '#1e7b45',
  died: '#9b1c1c',
  unknown: '#5b6470',
  after: '#8a4b00',
};

const isDay = (value: string | null): value is string => Boolean(value && /^\d{4}-\d{2}-\d{2}$/.test(value));

function reportQuery(
  program: 'naloxone' | 'moud',
  range: { from: string; to: string; site?: string; raw: boolean },
  csv = false,
) {
  const query = new URLSearchParams({ from: range.from, to: range.to });
  if (range.site) query.set('siteId', range.site);
  if (range.raw) query.set('raw', 'true');
  if (csv) query.set('format', 'csv');
  return `/v1/reports/${program}?${query}`;
}

const record = (value: unknown): Record<string, unknown> =>
  value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const rows = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.map(record) : []);

/** Words for a field name the page has no label for (a figure a newer backend added). */
function words(name: string): string {
  const spaced = name.replace(/([a-z])([A-Z0-9])/g, '$1 $2').replace(/[-_]/g, ' ');
  return spaced[0]!.toUpperCase() + spaced.slice(1).toLowerCase();
}

export function Dashboard({ route }: { route: Route }) {
  const { api, config } = useApp();
  const [message, setMessage] = useState<{ text: string; problem?: boolean } | undefined>();
  const query = route.query;
  const raw = query.get('raw') === '1';
  const site = query.get('site') ?? '';
  const [load, reload] = useLoad(async () => {
    const health = await api.get<{ now?: string }>('/health');
    const today = dayOf(new Date(health.now ?? Date.now()));
    const to = isDay(query.get('to')) ? (query.get('to') as string) : today;
    const from = isDay(query.get('from')) ? (query.get('from') as string) : addDays(to, -29);
    const range = { from, to, site: site || undefined, raw };
    const [naloxone, moud, sites] = await Promise.all([
      api.get<Report>(reportQuery('naloxone', range)),
      api.get<Report>(reportQuery('moud', range)),
      api.get<{ sites?: { siteId: string }[] }>('/v1/sites?limit=500').catch(() => ({ sites: [] })),
    ]);
    return { range, naloxone, moud, sites: (sites.sites ?? []).map((entry) => entry.siteId), today };
  }, route.query.toString());

  const set = (changes: Record<string, string | undefined>) => {
    navigate('/dashboard', { ...Object.fromEntries(query.entries()), ...changes });
  };

  if (load.state === 'failed' && isForbidden(load.error))
    return <Forbidden page="Dashboard" need={['admin']} />;

  const csvOf = (program: 'naloxone' | 'moud', report: string): CsvLink | undefined =>
    load.state !== 'ready'
      ? undefined
      : {
          report,
          href: `${config.apiUrl}${reportQuery(program, load.value.range, true)}`,
          onDownload: () =>
            void api
              .download(
                reportQuery(program, load.value.range, true),
                `bridgeway-${program}-${load.value.range.from}-${load.value.range.to}${raw ? '-raw' : ''}.csv`,
              )
              .then(
                () => setMessage({ text: `The ${report} report's CSV was downloaded.` }),
                (error: Error) => setMessage({ text: error.message, problem: true }),
              ),
        };

  return (
    <section aria-labelledby="dashboard-title" class="dashboard">
      <h1 id="dashboard-title">Dashboard</h1>
      <form class="filters" aria-label="Report range and site" onSubmit={(event) => event.preventDefault()}>
        <div class="field">
          <label for="range-from">From</label>
          <input
            id="range-from"
            type="date"
            value={load.state === 'ready' ? load.value.range.from : (query.get('from') ?? '')}
            onChange={(event) => set({ from: (event.target as HTMLInputElement).value || undefined })}
          />
        </div>
        <div class="field">
          <label for="range-to">To</label>
          <input
            id="range-to"
            type="date"
            value={load.state === 'ready' ? load.value.range.to : (query.get('to') ?? '')}
            onChange={(event) => set({ to: (event.target as HTMLInputElement).value || undefined })}
          />
        </div>
        <div class="field">
          <label for="range-site">Site</label>
          <select
            id="range-site"
            value={site}
            onChange={(event) => set({ site: (event.target as HTMLSelectElement).value || undefined })}
          >
            <option value="">All sites</option>
            {(load.state === 'ready' ? load.value.sites : site ? [site] : []).map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
        <div class="field check">
          <input
            id="range-raw"
            type="checkbox"
            checked={raw}
            aria-describedby="raw-help"
            onChange={(event) => set({ raw: (event.target as HTMLInputElement).checked ? '1' : undefined })}
          />
          <label for="range-raw">Exact counts (raw)</label>
          <p id="raw-help" class="help">
            Small counts are hidden to protect people. Asking for exact counts is recorded with your name.
          </p>
        </div>
      </form>
      <Status message={message} />
      {load.state === 'loading' && <p class="loading">Loading the reports…</p>}
      {load.state === 'failed' && <Failure error={load.error} what="The reports" retry={reload} />}
      {load.state === 'ready' && (
        <>
          <p class="notice" role="note">
            {raw ? (
              <>
                <strong>Exact counts.</strong> This request was recorded in the audit trail under your name.
                Do not share these figures outside the program.
              </>
            ) : (
              <>
                {definitionOf(load.value.naloxone.definitions, 'smallCells', 'suppression') ??
                  'Small counts are shown as <11.'}{' '}
                Figures as of{' '}
                {String(load.value.naloxone.asOf ?? load.value.naloxone.generatedAt ?? load.value.today)}.
              </>
            )}
          </p>
          <Naloxone report={load.value.naloxone} csv={() => csvOf('naloxone', 'naloxone')} />
          <Moud report={load.value.moud} csv={() => csvOf('moud', 'MOUD')} />
          <Outreach reports={{ naloxone: load.value.naloxone, moud: load.value.moud }} csv={csvOf} />
        </>
      )}
    </section>
  );
}

type Csv = () => CsvLink | undefined;

function Naloxone({ report, csv }: { report: Report; csv: Csv }) {
  const definitions = report.definitions;
  const byDay = rows(report.byDay);
  const kits = Object.entries(record(report.kitsDispensed));
  const figure = (id: string, label: string, value: string, ...definitionNames: string[]) => (
    <Figure
      id={`naloxone-${id}`}
      label={label}
      value={value}
      definition={definitionOf(definitions, ...definitionNames)}
      csv={csv()}
    />
  );
  const suppressedDays = byDay.filter((day) => plotted(day.dispenseEvents) === null).length;
  return (
    <section aria-labelledby="naloxone-title" class="program">
      <h2 id="naloxone-title">Naloxone kiosks</h2>
      <dl class="figures">
        {figure('dispenseEvents', 'Dispense events', showCount(report.dispenseEvents), 'dispenseEvents')}
        {report.naloxoneKitsDispensed !== undefined &&
          figure(
            'naloxoneKits',
            'Naloxone kits dispensed',
            showCount(report.naloxoneKitsDispensed),
            'naloxoneKitsDispensed',
            'kitsDispensed',
          )}
        {figure('contactRequests', 'Contact requests', showCount(report.contactRequests), 'contactRequests')}
        {figure('useReports', 'Use reports', showCount(report.useReports), 'useReports')}
        {figure('survived', 'Survived', showCount(report.survived), 'survived', 'useReports')}
        {figure('died', 'Died', showCount(report.died), 'died', 'useReports')}
        {figure(
          'unknownOutcome',
          'Outcome unknown',
          showCount(report.unknownOutcome),
          'unknownOutcome',
          'useReports',
        )}
        {figure('survivalRate', 'Survival rate', showRate(report.survivalRate), 'survivalRate')}
        {report.reportRate !== undefined &&
          figure('reportRate', 'Report rate', showRate(report.reportRate), 'reportRate')}
      </dl>
      <div class="charts">
        <BarChart
          id="chart-dispenses"
          title="Dispenses per day"
          summary={`Dispense events per day, ${byDay.length} days${suppressedDays ? `, ${suppressedDays} of them suppressed (fewer than 11)` : ''}. The numbers are in the table below.`}
          labels={byDay.map((day) =>
            plotted(day.dispenseEvents) === null
              ? [String(day.day).slice(5), String(day.dispenseEvents)]
              : String(day.day).slice(5),
          )}
          series={[
            {
              label: 'Dispense events',
              values: byDay.map((day) => plotted(day.dispenseEvents)),
              color: COLORS.primary,
            },
          ]}
          table={{
            headers: ['Day', 'Dispense events'],
            rows: byDay.map((day) => [String(day.day), showCount(day.dispenseEvents)]),
          }}
        />
        <BarChart
          id="chart-kits"
          title="Kits by SKU"
          horizontal
          summary={`Kits dispensed by SKU: ${kits.map(([sku, count]) => `${sku} ${showCount(count)}`).join(', ')}.`}
          labels={kits.map(([sku]) => sku)}
          series={[{ label: 'Kits', values: kits.map(([, count]) => plotted(count)), color: COLORS.primary }]}
          table={{ headers: ['SKU', 'Kits'], rows: kits.map(([sku, count]) => [sku, showCount(count)]) }}
        />
        <BarChart
          id="chart-outcomes"
          title="Use outcomes"
          summary={`Naloxone use reports by outcome: survived ${showCount(report.survived)}, died ${showCount(report.died)}, unknown ${showCount(report.unknownOutcome)}; survival rate ${showRate(report.survivalRate)}.`}
          labels={['Survived', 'Died', 'Unknown']}
          series={[
            {
              label: 'Use reports',
              values: [plotted(report.survived), plotted(report.died), plotted(report.unknownOutcome)],
              color: COLORS.survived,
            },
          ]}
          table={{
            headers: ['Outcome', 'Use reports'],
            rows: [
              ['Survived', showCount(report.survived)],
              ['Died', showCount(report.died)],
              ['Unknown', showCount(report.unknownOutcome)],
            ],
          }}
        />
      </div>
    </section>
  );
}

function Moud({ report, csv }: { report: Report; csv: Csv }) {
  const definitions = report.definitions;
  const retention = record(report.retention);
  const overdose = record(report.overdoseRate);
  const before = record(overdose.before);
  const after = record(overdose.after);
  const checkpoints = ['30', '90', '180'].filter((days) => retention[days] !== undefined);
  const figure = (id: string, label: string, value: string, ...definitionNames: string[]) => (
    <Figure
      id={`moud-${id}`}
      label={label}
      value={value}
      definition={definitionOf(definitions, ...definitionNames)}
      csv={csv()}
    />
  );
  return (
    <section aria-labelledby="moud-title" class="program">
      <h2 id="moud-title">MOUD follow-up</h2>
      <dl class="figures">
        {figure('enrollments', 'Enrollments', showCount(report.enrollments), 'enrollments', 'cohort')}
        {figure('activeAtTo', 'Active at the end of the range', showCount(report.activeAtTo), 'activeAtTo')}
        {checkpoints.map((days) => {
          const cell = record(retention[days]);
          return figure(
            `retention${days}`,
            `Retention at ${days} days`,
            `${showRate(cell.rate)} (${showCount(cell.retained)} of ${showCount(cell.eligible)})`,
            `retention${days}`,
            'retention',
          );
        })}
        {figure(
          'overdoseBefore',
          'Overdoses per 1,000 member-months, before',
          showNumber(before.per1000MemberMonths),
          'overdoseRateBefore',
        )}
        {figure(
          'overdoseAfter',
          'Overdoses per 1,000 member-months, after',
          showNumber(after.per1000MemberMonths),
          'overdoseRateAfter',
        )}
        {figure(
          'overdoseReduction',
          'Reduction in the overdose rate',
          showRate(overdose.reduction),
          'overdoseRateReduction',
        )}
      </dl>
      <div class="charts">
        <BarChart
          id="chart-retention"
          title="Retention"
          percent
          summary={`Retention: ${checkpoints.map((days) => `${days} days ${showRate(record(retention[days]).rate)}`).join(', ')}.`}
          labels={checkpoints.map((days) => `${days} days`)}
          series={[
            {
              label: 'Retained',
              values: checkpoints.map((days) => plotted(record(retention[days]).rate)),
              color: COLORS.survived,
            },
          ]}
          table={{
            headers: ['Checkpoint', 'Rate', 'Retained', 'Eligible'],
            rows: checkpoints.map((days) => {
              const cell = record(retention[days]);
              return [
                `${days} days`,
                showRate(cell.rate),
                showCount(cell.retained),
                showCount(cell.eligible),
              ];
            }),
          }}
        />
        <BarChart
          id="chart-overdose"
          title="Overdose rate before and after enrollment"
          summary={`Overdoses per 1,000 member-months: before ${showNumber(before.per1000MemberMonths)}, after ${showNumber(after.per1000MemberMonths)}.`}
          labels={['Before', 'After']}
          series={[
            {
              label: 'Per 1,000 member-months',
              values: [plotted(before.per1000MemberMonths), plotted(after.per1000MemberMonths)],
              color: COLORS.after,
            },
          ]}
          table={{
            headers: ['Period', 'Per 1,000 member-months', 'Overdoses', 'Member-months'],
            rows: [
              [
                'Before',
                showNumber(before.per1000MemberMonths),
                showCount(before.overdoses),
                showNumber(before.personMonths),
              ],
              [
                'After',
                showNumber(after.per1000MemberMonths),
                showCount(after.overdoses),
                showNumber(after.personMonths),
              ],
            ],
          }}
        />
      </div>
      {definitionOf(definitions, 'overdoseRateReduction') && (
        <p class="help">{definitionOf(definitions, 'overdoseRateReduction')}</p>
      )}
    </section>
  );
}

/** Everything in an object of figures, nested objects as their own rows: a section the page has no layout for. */
function flatten(value: unknown, prefix = ''): [string, unknown][] {
  return Object.entries(record(value)).flatMap(([name, inner]) =>
    inner && typeof inner === 'object' && !Array.isArray(inner)
      ? flatten(inner, `${prefix}${name} › `)
      : [[`${prefix}${name}`, inner] as [string, unknown]],
  );
}

/** The reports' outreach sections (tasks opened by kind, outcomes, still open, escalations, time to completion), however a backend shapes them. */
function Outreach(props: {
  reports: { naloxone: Report; moud: Report };
  csv: (program: 'naloxone' | 'moud', report: string) => CsvLink | undefined;
}) {
  const present = (['naloxone', 'moud'] as const).filter(
    (program) => props.reports[program].outreach !== undefined,
  );
  if (present.length === 0) return null;
  return (
    <section aria-labelledby="outreach-title" class="program">
      <h2 id="outreach-title">Outreach</h2>
      {present.map((program) => {
        const report = props.reports[program];
        const entries = flatten(report.outreach).filter(
          ([, value]) => typeof value !== 'object' || value === null,
        );
        const definitions = record(report.definitions);
        const name = program === 'moud' ? 'MOUD' : 'naloxone';
        return (
          <div key={program}>
            <h3 id={`outreach-${program}-title`}>
              {program === 'moud' ? 'Follow-up tasks (MOUD)' : 'Kiosk contact tasks (naloxone)'}
            </h3>
            <dl class="figures">
              {entries.map(([path, value]) => {
                const leaf = path.split(' › ').at(-1) ?? path;
                return (
                  <Figure
                    key={path}
                    id={`outreach-${program}-${path.replace(/[^A-Za-z0-9]+/g, '-')}`}
                    label={path.split(' › ').map(words).join(' › ')}
                    value={
                      typeof value === 'number' && !Number.isInteger(value)
                        ? showNumber(value)
                        : showCount(value)
                    }
                    definition={
                      definitionText(definitions[`outreach.${leaf}`]) ??
                      definitionText(record(definitions.outreach)[leaf]) ??
                      definitionText(definitions.outreach)
                    }
                    csv={props.csv(program, name)}
                  />
                );
              })}
            </dl>
          </div>
        );
      })}
    </section>
  );
}
