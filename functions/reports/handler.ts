import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { readAggregates } from '../adapters/aggregates-store.js';
import { auditPut } from '../adapters/audit.js';
import { now } from '../adapters/clock.js';
import { documentClient } from '../adapters/dynamo.js';
import { reportCsv } from '../core/metrics/csv.js';
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

async function naloxone(request: HttpRequest): Promise<HttpAnswer> {
  const query = validate(reportQuerySchema, request.query);
  const raw = query.raw === 'true';
  if (raw) {
    // Raw small counts are a disclosure decision: record who asked.
    await documentClient.send(
      new PutCommand(
        auditPut('report:naloxone', request.actor?.id ?? 'unknown', 'raw-counts', now(), {
          from: query.from,
          to: query.to,
        }),
      ),
    );
  }
  const { rows, itemsRead } = await readAggregates('naloxone', query.from, query.to);
  const report = { ...naloxoneReport(rows, { ...query, raw }), generatedAt: now().toISOString(), itemsRead };
  if (!wantsCsv(request, query.format)) return json(200, report);
  return {
    status: 200,
    headers: { 'content-type': 'text/csv; charset=utf-8' },
    text: reportCsv(report, {
      bySite: { keyField: 'siteId', rows: report.bySite },
      byDay: { keyField: 'day', rows: report.byDay },
    }),
  };
}

export const handler = routeGroup('reports', { 'GET /v1/reports/naloxone': naloxone });
