import { describe, expect, it } from 'vitest';
import {
  indexWriteUnits,
  itemSize,
  numberSize,
  readUnits,
  writeUnits,
} from '../../../scripts/bench/capacity.js';
import {
  apiFronts,
  dispenseOptions,
  dynamoUsd,
  fixedMonthly,
  KIOSK_TRACED_SHARE,
  lambdaUsd,
  logBytesPerRequest,
  requestsCost,
} from '../../../scripts/bench/cost.js';

// Every expected figure below is worked out by hand from scripts/bench/prices.ts (2026-11-30).
/** A dispense as the bench measured one: an application line and an EMF metrics line, 714 bytes. */
const dispense = {
  medianMs: 10,
  roundTrips: 1,
  writeUnits: 6,
  readUnits: 0,
  notices: 0,
  logLines: 2,
  logBytes: 714,
  logContextLines: 1,
};

describe('the cost model', () => {
  it('prices the three kiosk fronts per 1M requests', () => {
    const [rest, http, url] = apiFronts();
    expect(rest).toMatchObject({ perMillion: 4.1, fixedMonthly: 7, refuses413BeforeLambda: true }); // 3.50 + 0.60; 5 + 2 × 1
    expect(http).toMatchObject({ perMillion: 1.0, refuses413BeforeLambda: false });
    expect(url).toMatchObject({ perMillion: 1.6, refuses413BeforeLambda: true }); // 1.00 CloudFront + 0.60 WAF
  });

  it('prices capacity units: 6 WRU a dispense is $3.75 per 1M', () => {
    expect(dynamoUsd(6e6, 0)).toBeCloseTo(3.75, 10);
    expect(dynamoUsd(0, 8e6)).toBeCloseTo(1.0, 10); // 8 RRU × $0.125
  });

  it('folds counters and stock out of the transaction', () => {
    // 3 items × 2 WRU; minus one item (2 WRU) plus 1 write per 100 events; or 1 WRU + 2 writes per 100.
    expect(dispenseOptions(6).map((o) => o.writeUnits)).toEqual([6, 4.01, 1.02]);
  });

  it('bills Lambda per request and per GB-second (256 MB, embedded ms + 10 ms a round trip)', () => {
    // 10 + 10 = 20 ms; 0.25 GB × 0.02 s = 0.005 GB-s × $0.0000133334 + $0.0000002.
    expect(lambdaUsd({ ...dispense, writeUnits: 0 })).toBeCloseTo(2.66667e-7, 11);
  });

  it('counts a request’s log bytes: its lines as measured, what AWS adds to them, Lambda’s three and the access line', () => {
    // 714 + 146 (one line with the Lambda context) + 358 + 242 + 26 × (2 + 3 + 1 events) = 1,616
    expect(logBytesPerRequest(dispense)).toBe(1616);
    // A duplicate writes only its metrics line: 218 + 358 + 242 + 26 × 5 = 948
    expect(logBytesPerRequest({ ...dispense, logLines: 1, logBytes: 218, logContextLines: 0 })).toBe(948);
  });

  it('adds up 1M dispenses through REST + WAF', () => {
    const cost = requestsCost(1e6, dispense, apiFronts()[0]!);
    // 4.10 front + 0.2667 Lambda + 3.75 writes + 0.808 logs ingest (1.616 GB × 0.50)
    // + 0.5818 logs kept (1.616 GB × 0.03 × 12) + 5.00 X-Ray = 14.5064
    expect(cost.total).toBeCloseTo(14.5064, 3);
    expect(cost.lines.find((line) => line.item === 'X-Ray traces (100 % recorded)')?.usd).toBe(5);
  });

  it('records 1 % of kiosk requests in X-Ray, as the kiosk route’s sampling rule says', () => {
    const kiosk = requestsCost(1e6, dispense, apiFronts()[0]!, undefined, KIOSK_TRACED_SHARE);
    // 1M × 1 % traced × $5 per million recorded = $0.05, where the default rule records every one ($5).
    expect(KIOSK_TRACED_SHARE).toBe(0.01);
    expect(kiosk.lines.find((line) => line.item === 'X-Ray traces (1 % recorded)')?.usd).toBeCloseTo(0.05, 6);
    expect(kiosk.total).toBeCloseTo(14.5064 - 5 + 0.05, 3);
  });

  it('counts the fixed costs of a month', () => {
    const fixed = fixedMonthly(20);
    const line = (start: string) => fixed.lines.find((l) => l.item.startsWith(start))?.usd;
    expect(line('KMS: 4 customer keys')).toBe(4);
    expect(line('WAF web ACL')).toBe(7);
    expect(line('Cognito Plus, 20 staff')).toBe(0.4);
    expect(line('CloudWatch dashboard')).toBe(3);
    expect(line('AWS Backup')).toBeCloseTo(2.35, 6); // 0.5 GB × 47 copies × $0.10
    expect(fixed.total).toBeCloseTo(
      fixed.lines.reduce((sum, l) => sum + l.usd, 0),
      3,
    );
  });
});

describe('capacity units from item sizes', () => {
  it('sizes items as DynamoDB does', () => {
    expect(numberSize('123')).toBe(3); // ceil(3 / 2) + 1
    expect(numberSize('-0.0500')).toBe(2); // one significant digit
    // "pk" 2 + "abc" 3, "n" 1 + 3, "m" 1 + (3 + 1 + "a" 1 + true 1) = 16
    expect(itemSize({ pk: { S: 'abc' }, n: { N: '123' }, m: { M: { a: { BOOL: true } } } })).toBe(16);
  });

  it('rounds writes to 1 KB and reads to 4 KB, never below one unit', () => {
    expect(writeUnits(0, 0)).toBe(1);
    expect(writeUnits(1024, 10)).toBe(1);
    expect(writeUnits(10, 1025)).toBe(2);
    expect(readUnits(0)).toBe(1);
    expect(readUnits(4097)).toBe(2);
  });

  it('charges an index a delete and a put when its key moves, nothing when untouched', () => {
    const table = {
      keys: ['kioskId'],
      indexes: [{ keys: ['watch', 'silentAt'], include: ['kioskId', 'siteId'] }],
    };
    const before = { kioskId: { S: 'K1' }, watch: { S: 'online' }, silentAt: { S: 'a' }, siteId: { S: 's' } };
    expect(indexWriteUnits(table, before, { ...before, silentAt: { S: 'b' } })).toBe(2);
    expect(indexWriteUnits(table, before, { ...before, stock: { N: '3' } })).toBe(0);
    const { watch: _watch, ...unwatched } = before;
    expect(indexWriteUnits(table, before, unwatched)).toBe(1);
  });
});
