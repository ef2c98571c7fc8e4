import { readAggregates } from '../adapters/aggregates-store.js';
import { recordAudit } from '../adapters/audit.js';
import { now } from '../adapters/clock.js';
import { countedThrough, type Program } from '../core/aggregates.js';
import { csvFileName, reportCsv } from '../core/metrics/csv.js';
import { moudReport } from '../core/metrics/moud.js';
import { naloxoneReport } from '../core/metrics/naloxone.js';
import { reportQuerySchema } from '../core/schemas.js';
import { type HttpAnswer, type HttpRequest, json, routeGroup, validate } from '../http/route.js';

function wantsCsv(request: HttpRequest, format: string | undefined): boolean {
  if (format) return format === 'csv';
  const accept = Object.entries(request.event.headers ?? {}).find(
    ([name]) => name.toLowerCase() === 'accept',
  )?.[1];
  return Boolean(accept?.toLowerCase().includes('text/csv'));
}

/** Builds a report of one program from its aggregates: days × sites items, never events. */
function reportRoute(program: Program, build: typeof naloxoneReport | typeof moudReport) {
  return async (request: HttpRequest): Promise<HttpAnswer> => {
    const query = validate(reportQuerySchema(), request.query);
    const raw = query.raw === 'true';
    // Raw small counts are a disclosure decision: the audit entry must be written before the
    // answer goes out (a failed one fails the request), but it need not hold up the read.
    const audit = raw
      ? recordAudit(`report:${program}`, request.actor?.id ?? 'unknown', 'raw-counts', now(), {
          from: query.from,
          to: query.to,
          ...(query.siteId ? { siteId: query.siteId } : {}),
        })
      : undefined;
    // Reports describe what is known as of the backend's now: days after its today are not read.
    const asOf = now().toISOString();
    const through = countedThrough(query.to, asOf);
    const [{ rows, itemsRead }] = await Promise.all([
      through < query.from
        ? Promise.resolve({ rows: [], itemsRead: 0 })
        : readAggregates(program, query.from, through),
      audit,
    ]);
    const report = { ...build(rows, { ...query, raw, asOf }), generatedAt: asOf, itemsRead };
    if (!wantsCsv(request, query.format)) return json(200, report);
    const breakdowns: Record<string, { keyField: string; rows: readonly Record<string, unknown>[] }> = {
      bySite: { keyField: 'siteId', rows: report.bySite },
    };
    if ('byDay' in report) breakdowns.byDay = { keyField: 'day', rows: report.byDay };
    // The kiosk fleet's breakdowns (naloxone): one line per lot and figure, per kiosk and figure.
    if ('kitsByLot' in report) breakdowns.kitsByLot = { keyField: 'lot', rows: report.kitsByLot };
    if ('offlineByKiosk' in report)
      breakdowns.offlineByKiosk = { keyField: 'kioskId', rows: report.offlineByKiosk };
    return {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${csvFileName(program, query.from, query.to, query.siteId)}"`,
      },
      text: reportCsv(report as unknown as Record<string, unknown>, breakdowns),
    };
  };
}

export const handler = routeGroup('reports', {
  'GET /v1/reports/naloxone': reportRoute('naloxone', naloxoneReport),
  'GET /v1/reports/moud': reportRoute('moud', moudReport),
});
