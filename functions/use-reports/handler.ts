import { createHash, randomUUID } from 'node:crypto';
import { counterUpdate } from '../adapters/aggregates-store.js';
import { now } from '../adapters/clock.js';
import { guardPut, writeOnce } from '../adapters/idempotent.js';
import { siteUse } from '../adapters/site-store.js';
import { aggregateKey } from '../core/aggregates.js';
import { backoff } from '../core/backoff.js';
import { canonicalJson } from '../core/canonical.js';
import { conflict, unavailable } from '../core/errors.js';
import { useReportCounters } from '../core/kiosk/use-reports.js';
import { useReportSchema } from '../core/schemas.js';
import { type HttpRequest, json, jsonBody, notAfterToday, routeGroup } from '../http/route.js';

async function recordUseReport(request: HttpRequest) {
  const report = jsonBody(request, useReportSchema());
  notAfterToday(report.usedOn, 'usedOn', 'invalid_request');
  const bodyFingerprint = createHash('sha256').update(canonicalJson(report)).digest('hex');
  const { day, siteId, counters } = useReportCounters(report);
  const items = [
    guardPut('useReports', 'reportId', {
      ...report,
      writeId: randomUUID(),
      fingerprint: bodyFingerprint,
      recordedBy: request.actor?.id,
      recordedAt: now().toISOString(),
    }),
    { Update: counterUpdate(aggregateKey('naloxone', day, siteId, report.reportId), counters) },
    ...(report.siteId
      ? [siteUse(report.siteId, 'useReport', report.reportId, request.actor?.id, now())]
      : []),
  ];
  // Cancelled by a concurrent transaction on the same counters: nothing was written, try again.
  let outcome = await writeOnce(items);
  for (let attempt = 2; outcome.status === 'stale' && attempt <= 12; attempt += 1) {
    await backoff(attempt, 5, 1_000);
    outcome = await writeOnce(items);
  }
  if (outcome.status === 'stale') throw unavailable('Concurrent writes to the same counters; retry.');
  if (outcome.status === 'created') return json(201, { reportId: report.reportId, status: 'recorded' });
  if (outcome.status === 'exists' && outcome.stored.fingerprint === bodyFingerprint)
    return json(200, { reportId: report.reportId, status: 'duplicate' });
  throw conflict('report_id_conflict', 'This reportId was already recorded with a different report.');
}

export const handler = routeGroup('useReports', { 'POST /v1/naloxone/use-reports': recordUseReport });
