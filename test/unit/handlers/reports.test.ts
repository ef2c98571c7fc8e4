import { InternalServerError } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useClock } from '../../../functions/adapters/clock.js';
import { aggregatePartitions } from '../../../functions/core/aggregates.js';
import { handler } from '../../../functions/reports/handler.js';
import type { Role } from '../../../lib/manifest.js';
import { apiEvent, invoke } from '../../support/events.js';
import { silenceLogger, spelled, stubEnvironment, TABLE } from './fakes.js';

const ddb = mockClient(DynamoDBDocumentClient);

const NOW = new Date('2027-01-15T09:00:00.000Z');

type Item = Record<string, string | number>;

/** The aggregates table as the writers left it. */
const AGGREGATES: Item[] = [
  { pk: 'naloxone#2026-11', sk: '2026-11-05#site-7', dispenseEvents: 100, 'kit:naloxone-nasal-4mg': 100 },
  {
    pk: 'naloxone#2026-11',
    sk: '2026-11-20#site-7',
    dispenseEvents: 3,
    'kit:naloxone-nasal-4mg': 4,
    'kit:fentanyl-test-strips': 10,
    contactRequests: 1,
    useReports: 30,
    survived: 24,
    died: 1,
    unknownOutcome: 5,
  },
  {
    pk: 'naloxone#2026-11',
    sk: '2026-11-21#site-7',
    dispenseEvents: 12,
    'kit:naloxone-nasal-8mg': 12,
    useReports: 2,
    survived: 2,
  },
  {
    pk: 'naloxone#2026-11',
    sk: '2026-11-21#site-9',
    dispenseEvents: 2,
    'kit:naloxone-nasal-4mg': 2,
    useReports: 1,
    died: 1,
  },
  { pk: 'naloxone#2026-12', sk: '2026-12-02#site-7', dispenseEvents: 5, 'kit:naloxone-im-0.4mg': 5 },
  { pk: 'naloxone#2027-01', sk: '2027-01-09#site-9', dispenseEvents: 1, 'kit:naloxone-nasal-4mg': 1 },
];

/** Answers a key condition "pk = X [AND sk BETWEEN A AND B]" from AGGREGATES. */
function query(input: QueryCommandInput) {
  const condition = spelled(input.KeyConditionExpression, input);
  const match = /^pk = ("[^"]*")(?: AND sk BETWEEN ("[^"]*") AND ("[^"]*"))?$/.exec(condition);
  if (!match) throw new Error(`the fake table does not understand ${condition}`);
  const [pk, from, to] = match.slice(1).map((value) => (value ? JSON.parse(value) : undefined));
  return {
    Items: AGGREGATES.filter(
      (item) => item.pk === pk && (from === undefined || (item.sk >= from && item.sk <= to)),
    ),
  };
}

function report(query: Record<string, string>, options: { role?: Role | null; accept?: string } = {}) {
  return invoke(
    handler,
    apiEvent({
      method: 'GET',
      resource: '/v1/reports/naloxone',
      query,
      role: options.role === null ? undefined : (options.role ?? 'admin'),
      username: 'admin-3',
      headers: options.accept ? { Accept: options.accept } : {},
    }),
  );
}

/** A small RFC 4180 reader: enough to read the report back. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i += 1;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field || row.length) rows.push([...row, field]);
  return rows;
}

const NOVEMBER = { from: '2026-11-15', to: '2026-11-30' };

beforeEach(() => {
  ddb.reset();
  stubEnvironment();
  useClock(() => new Date(NOW));
  ddb.on(QueryCommand).callsFake(query);
  ddb.on(PutCommand).resolves({});
  silenceLogger();
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the naloxone report', () => {
  it('adds up the days and sites in the range into exact totals, with raw=true', async () => {
    const response = await report({ ...NOVEMBER, raw: 'true' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      from: '2026-11-15',
      to: '2026-11-30',
      dispenseEvents: 17,
      contactRequests: 1,
      useReports: 33,
      survived: 26,
      died: 2,
      unknownOutcome: 5,
    });
    expect(response.body.kitsDispensed).toMatchObject({
      'naloxone-nasal-4mg': 6,
      'naloxone-nasal-8mg': 12,
      'naloxone-im-0.4mg': 0,
      'fentanyl-test-strips': 10,
    });
    expect(response.body.survivalRate).toBeCloseTo(26 / 28, 12);
  });

  it('shows counts from 1 to 10 as "<11", totals included, and a rate computed from one as suppressed', async () => {
    const response = await report(NOVEMBER);

    expect(response.body).toMatchObject({
      dispenseEvents: 17,
      contactRequests: '<11',
      useReports: 33,
      survived: 26,
      died: '<11',
      unknownOutcome: '<11',
      survivalRate: 'suppressed',
      smallCellsSuppressed: true,
    });
    // 6 + 12 naloxone kits make 18: the 6 alone hidden would be 18 - 12, so the 12 is hidden too.
    expect(response.body.kitsDispensed).toMatchObject({
      'naloxone-nasal-4mg': '<11',
      'naloxone-nasal-8mg': '<11',
    });
    expect(response.body.naloxoneKitsDispensed).toBe(18);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });

  it('answers survivalRate null when no report says survived or died', async () => {
    const response = await report({ from: '2026-12-01', to: '2026-12-31' });

    expect(response.body).toMatchObject({ dispenseEvents: '<11', survived: 0, died: 0, survivalRate: null });
  });

  it('hides the totals too when siteId narrows the report to one small site', async () => {
    const response = await report({ ...NOVEMBER, siteId: 'site-9' });

    expect(response.body).toMatchObject({
      siteId: 'site-9',
      dispenseEvents: '<11',
      useReports: '<11',
      died: '<11',
      survivalRate: 'suppressed',
    });
    expect(response.body.kitsDispensed['naloxone-nasal-4mg']).toBe('<11');
    expect(response.body.bySite.map((row: Item) => row.siteId)).toEqual(['site-9']);
  });

  it('hides a lone small site or day together with another, so that neither can be worked out from the total', async () => {
    const response = await report(NOVEMBER);

    const site = (id: string) => response.body.bySite.find((row: Item) => row.siteId === id);
    const day = (d: string) => response.body.byDay.find((row: Item) => row.day === d);
    // 17 dispenses = 15 at site-7 + 2 at site-9, and = 3 on the 20th + 14 on the 21st.
    expect(site('site-9')).toMatchObject({ dispenseEvents: '<11', died: '<11', survived: 0 });
    expect(site('site-7')).toMatchObject({ dispenseEvents: '<11', survived: 26, died: '<11' });
    expect(day('2026-11-20')).toMatchObject({ dispenseEvents: '<11' });
    expect(day('2026-11-21')).toMatchObject({ dispenseEvents: '<11' });
    expect(response.body.dispenseEvents).toBe(17);
  });

  it('describes what is recorded as of the backend’s now: a range past today is counted through today', async () => {
    const response = await report({ from: '2027-01-01', to: '2027-12-31', raw: 'true' });

    expect(response.body).toMatchObject({
      asOf: NOW.toISOString(),
      countedThrough: '2027-01-15',
      dispenseEvents: 1,
    });
    const conditions = ddb
      .commandCalls(QueryCommand)
      .map((call) => spelled(call.args[0].input.KeyConditionExpression, call.args[0].input));
    expect(conditions.every((c) => !c.includes('2027-02'))).toBe(true);
  });

  it('reads nothing for a range that starts after the backend’s today', async () => {
    const response = await report({ from: '2027-02-01', to: '2027-02-28' });

    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({ countedThrough: '2027-01-15', dispenseEvents: 0, itemsRead: 0 });
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('shows small cells with raw=true and records who asked for them', async () => {
    const response = await report({ ...NOVEMBER, raw: 'true' });

    const site9 = response.body.bySite.find((row: Item) => row.siteId === 'site-9');
    expect(site9).toMatchObject({ dispenseEvents: 2, died: 1 });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    const audit = ddb.commandCalls(PutCommand)[0].args[0].input;
    expect(audit.TableName).toBe(TABLE.audit);
    expect(audit.Item).toMatchObject({ actor: 'admin-3', from: '2026-11-15', to: '2026-11-30' });
  });

  it('answers 503 and no raw figures when the audit entry cannot be written', async () => {
    ddb.on(PutCommand).rejects(new InternalServerError({ message: 'boom', $metadata: {} }));

    const response = await report({ ...NOVEMBER, raw: 'true' });

    expect(response.status).toBe(503);
    expect(response.body.bySite).toBeUndefined();
  });

  it('queries every partition of each month the range touches, each for its own days', async () => {
    const response = await report({ from: '2026-11-15', to: '2027-01-10' });

    expect(response.status).toBe(200);
    const conditions = ddb
      .commandCalls(QueryCommand)
      .map((call) => spelled(call.args[0].input.KeyConditionExpression, call.args[0].input));
    expect(conditions.map((c) => /^pk = "([^"]*)"/.exec(c)?.[1]).sort()).toEqual(
      ['2026-11', '2026-12', '2027-01'].flatMap((month) => aggregatePartitions('naloxone', month)).sort(),
    );
    expect(
      ddb.commandCalls(QueryCommand).every((call) => call.args[0].input.TableName === TABLE.aggregates),
    ).toBe(true);
    expect(response.body.dispenseEvents).toBe(17 + 5 + 1);
  });

  it('adds up what several writers left in their own shards for one day and site', async () => {
    AGGREGATES.push({
      pk: 'naloxone#2026-11#3',
      sk: '2026-11-21#site-9',
      dispenseEvents: 4,
      useReports: 2,
      died: 1,
    });
    try {
      const response = await report(NOVEMBER);

      expect(response.body.dispenseEvents).toBe(17 + 4);
      expect(response.body.useReports).toBe(35);
    } finally {
      AGGREGATES.pop();
    }
  });

  it('reads every page of a partition', async () => {
    ddb.on(QueryCommand).callsFake((input: QueryCommandInput) => {
      const answer = query(input);
      if (answer.Items.length < 2) return answer;
      // A partition answered in two pages: the first item, then the rest.
      return input.ExclusiveStartKey
        ? { Items: answer.Items.slice(1) }
        : {
            Items: answer.Items.slice(0, 1),
            LastEvaluatedKey: { pk: answer.Items[0].pk, sk: answer.Items[0].sk },
          };
    });

    const response = await report(NOVEMBER);

    expect(response.body.dispenseEvents).toBe(17);
    const continued = ddb.commandCalls(QueryCommand).filter((call) => call.args[0].input.ExclusiveStartKey);
    expect(continued).toHaveLength(1);
  });
});

describe('the naloxone report as CSV', () => {
  const figureIn = (rows: string[][]) => (section: string, key: string, metric: string) =>
    rows.find((row) => row[0] === section && row[1] === key && row[2] === metric)?.[3];

  it.each([
    ['Accept: text/csv', NOVEMBER, 'text/csv'],
    ['format=csv', { ...NOVEMBER, format: 'csv' }, undefined],
  ])(
    'answers CSV for %s with the same figures, small cells suppressed, as an attachment',
    async (_, query, accept) => {
      const response = await report(query, { accept });

      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toMatch(/^text\/csv/);
      expect(response.headers['content-disposition']).toBe(
        'attachment; filename="bridgeway-naloxone-2026-11-15-to-2026-11-30.csv"',
      );
      const rows = parseCsv(response.text);
      expect(rows[0]).toEqual(['section', 'key', 'metric', 'value']);
      const figure = figureIn(rows);
      expect(figure('total', '', 'dispenseEvents')).toBe('17');
      expect(figure('total', '', 'survived')).toBe('26');
      expect(figure('total', '', 'died')).toBe('<11');
      expect(figure('total', '', 'survivalRate')).toBe('suppressed');
      expect(figure('total', '', 'smallCellsSuppressed')).toBe('true');
      expect(figure('bySite', 'site-9', 'dispenseEvents')).toBe('<11');
    },
  );

  it('ends every record with CRLF, rounds rates to four decimals, keeps counts exact and carries the definitions', async () => {
    const response = await report({ ...NOVEMBER, raw: 'true', format: 'csv' });

    expect(response.text.endsWith('\r\n')).toBe(true);
    expect(response.text.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
    const rows = parseCsv(response.text);
    const figure = figureIn(rows);
    expect(figure('total', '', 'survivalRate')).toBe('0.9286');
    expect(figure('total', 'naloxone-nasal-8mg', 'kitsDispensed')).toBe('12');
    expect(figure('total', '', 'smallCellsSuppressed')).toBe('false');
    expect(figure('definitions', 'survivalRate', 'numerator')).toBe('use reports with outcome survived');
    expect(figure('definitions', 'csv', 'precision')).toContain('4 decimals');
    expect(figure('total', '', 'definitionsVersion')).toBe('naloxone-3');
  });

  it('answers JSON when format=json, whatever Accept says', async () => {
    const response = await report({ ...NOVEMBER, format: 'json' }, { accept: 'text/csv' });

    expect(response.headers['content-type']).toBe('application/json');
    expect(response.body.dispenseEvents).toBe(17);
  });
});

describe('rejecting a report request', () => {
  it.each<[string, Record<string, string>, string]>([
    ['from after to', { from: '2026-12-01', to: '2026-11-30' }, 'from'],
    ['a date that does not exist', { from: '2026-02-30', to: '2026-03-31' }, 'from'],
    ['a date in another format', { from: '11/15/2026', to: '2026-11-30' }, 'from'],
    ['a missing to', { from: '2026-11-15' }, 'to'],
  ])('answers 400 invalid_request for %s, without reading anything', async (_, query, path) => {
    const response = await report(query);

    expect(response.status).toBe(400);
    expect(response.body.error.code).toBe('invalid_request');
    expect(response.body.error.issues.map((issue: { path: string }) => issue.path)).toContain(path);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('answers 403 forbidden to outreach staff', async () => {
    const response = await report(NOVEMBER, { role: 'outreach' });

    expect(response.status).toBe(403);
    expect(response.body.error.code).toBe('forbidden');
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it('answers 401 without claims', async () => {
    const response = await report(NOVEMBER, { role: null });

    expect(response.status).toBe(401);
  });
});
