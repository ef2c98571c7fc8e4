import { readAggregates } from '../adapters/aggregates-store.js';
import { recordAudit } from '../adapters/audit.js';
import { now } from '../adapters/clock.js';
import type { Program } from '../core/aggregates.js';
import { reportCsv } from '../core/metrics/csv.js';
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
    const query = validate(reportQuerySchema, request.query);
    const raw = query.raw === 'true';
    if (raw) {
      // Raw small counts are a disclosure decision: record who asked, before answering.
      await recordAudit(`report:${program}`, request.actor?.id ?? 'unknown', 'raw-counts', now(), {
        from: query.from,
        to: query.to,
        ...(query.siteId ? { siteId: query.siteId } : {}),
      });
    }
    const { rows, itemsRead } = await readAggregates(program, query.from, query.to);
    const report = { ...build(rows, { ...query, raw }), generatedAt: now().toISOString(), itemsRead };
    if (!wantsCsv(request, query.format)) return json(200, report);
    const breakdowns: Record<string, { keyField: string; rows: readonly Record<string, unknown>[] }> = {
      bySite: { keyField: 'siteId', rows: report.bySite },
    };
    if ('byDay' in report) breakdowns.byDay = { keyField: 'day', rows: report.byDay };
    return {
      status: 200,
      headers: { 'content-type': 'text/csv; charset=utf-8' },
      text: reportCsv(report as unknown as Record<string, unknown>, breakdowns),
    };
  };
}

export const handler = routeGroup('reports', {
  'GET /v1/reports/naloxone': reportRoute('naloxone', naloxoneReport),
  'GET /v1/reports/moud': reportRoute('moud', moudReport),
});
