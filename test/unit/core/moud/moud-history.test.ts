import { describe, expect, it } from 'vitest';
import { retentionFlags } from '../../../../functions/core/metrics/moud.js';
import {
  contribution,
  counterDiff,
  legacyContribution,
} from '../../../../functions/core/moud/enrollments.js';
import {
  consentOn,
  coverage,
  decodeEntry,
  encodeEntry,
  followUpEnd,
  type HistoryEntry,
  historyEntryOf,
} from '../../../../functions/core/moud/moud-history.js';

const ENROLLED_ON = '2026-01-01';
const day = (index: number) =>
  new Date(Date.parse(ENROLLED_ON) + index * 86_400_000).toISOString().slice(0, 10);
const dose = (index: number, daysSupply = 1): HistoryEntry => ({ type: 'dose', day: day(index), daysSupply });
const injection = (index: number): HistoryEntry => ({ type: 'injection', day: day(index) });
const overdose = (index: number, fatal = false): HistoryEntry => ({
  type: 'overdose',
  day: day(index),
  fatal,
});
const disenrolled = (index: number): HistoryEntry => ({ type: 'disenrolled', day: day(index) });
const consent = (index: number, outreach: boolean, part2 = true): HistoryEntry => ({
  type: 'consent',
  day: day(index),
  outreach,
  part2,
});
const facts = { enrolledOn: ENROLLED_ON, medication: 'methadone', overdosesPrior12m: 3 };

describe('the history kept on an enrollment', () => {
  it('reads back every kind of entry exactly as it was written', () => {
    // Arrange
    const entries: HistoryEntry[] = [
      dose(0, 14),
      injection(1),
      { type: 'visit', day: day(2) },
      { type: 'missed-visit', day: day(3) },
      overdose(4),
      overdose(5, true),
      disenrolled(6),
      consent(7, false, true),
    ];

    // Act
    const read = entries.map(encodeEntry).map(decodeEntry);

    // Assert
    expect(read).toEqual(entries);
  });

  it('takes a dose without daysSupply as one day, and keeps nothing of the event but its day and meaning', () => {
    // Act
    const entry = historyEntryOf({ eventId: 'e-1', type: 'dose', occurredOn: day(3) });

    // Assert
    expect(entry).toEqual({ type: 'dose', day: day(3), daysSupply: 1 });
  });
});

describe('coverage with days of supply', () => {
  it('covers a take-home supply for its days from the day it was given', () => {
    expect(coverage('methadone', ENROLLED_ON, [dose(0, 14)])).toEqual([[0, 13]]);
  });

  it('carries an early refill forward from the end of the supply in hand', () => {
    // A 14-day supply on day 0, refilled early on day 10 with 14 more: covered through day 27.
    expect(coverage('buprenorphine-sublingual', ENROLLED_ON, [dose(10, 14), dose(0, 14)])).toEqual([[0, 27]]);
  });

  it('adds up two supplies given on the same day', () => {
    expect(coverage('methadone', ENROLLED_ON, [dose(5, 7), dose(5, 7)])).toEqual([[5, 18]]);
  });

  it('does not stack injections given early: each covers its own days', () => {
    expect(coverage('buprenorphine-er-monthly', ENROLLED_ON, [injection(0), injection(20)])).toEqual([
      [0, 50],
    ]);
  });

  it('is the same whatever order the entries were recorded in', () => {
    const entries = [
      dose(0, 7),
      dose(3, 7),
      dose(30, 2),
      injection(12),
      { type: 'visit', day: day(40) } as const,
    ];
    const reversed = [...entries].reverse();

    expect(coverage('methadone', ENROLLED_ON, reversed)).toEqual(coverage('methadone', ENROLLED_ON, entries));
  });
});

describe('retention with days of supply', () => {
  it('keeps a person on 14-day take-home supplies retained, where one-day doses on the same days would break', () => {
    // Arrange: a supply every 14 days.
    const takeHome = [0, 14, 28, 42, 56, 70, 84].map((i) => dose(i, 14));
    const oneDay = [0, 14, 28, 42, 56, 70, 84].map((i) => dose(i));

    // Act
    const withSupply = retentionFlags('methadone', ENROLLED_ON, takeHome);
    const without = retentionFlags('methadone', ENROLLED_ON, oneDay);

    // Assert
    expect(withSupply).toEqual({ 30: true, 90: true, 180: false });
    expect(without).toEqual({ 30: false, 90: false, 180: false });
  });

  it('counts a supply given before enrolledOn for the days it reaches past it', () => {
    // A 30-day supply given 5 days before enrollment covers days 0..24; then daily doses from day 25.
    const history = [
      { type: 'dose', day: '2025-12-27', daysSupply: 30 } as const,
      ...[25, 26, 27, 28, 29, 30, 31].map((i) => dose(i)),
    ];

    expect(retentionFlags('methadone', ENROLLED_ON, history)[30]).toBe(true);
  });
});

describe('the end of the follow-up', () => {
  it('is the earliest ending recorded, whatever came first', () => {
    expect(followUpEnd(ENROLLED_ON, [overdose(60, true), disenrolled(45)])).toEqual({
      on: day(45),
      reason: 'disenrolled',
    });
    expect(followUpEnd(ENROLLED_ON, [disenrolled(45), overdose(60, true)])).toEqual({
      on: day(45),
      reason: 'disenrolled',
    });
  });

  it('ends as a death when a death and a disenrollment fall on the same day', () => {
    expect(followUpEnd(ENROLLED_ON, [disenrolled(10), overdose(10, true)])?.reason).toBe('died');
    expect(followUpEnd(ENROLLED_ON, [overdose(10, true), disenrolled(10)])?.reason).toBe('died');
  });

  it('does not end before enrolledOn', () => {
    expect(followUpEnd(ENROLLED_ON, [{ type: 'disenrolled', day: '2025-12-20' }])?.on).toBe(ENROLLED_ON);
  });
});

describe('the consent in force on a day', () => {
  const given = { outreach: true, part2: true };

  it('is the enrollment’s until a consent event says otherwise, then the latest one on or before the day', () => {
    const history = [consent(20, true), consent(10, false)];

    expect(consentOn(given, history, day(5))).toEqual(given);
    expect(consentOn(given, history, day(10)).outreach).toBe(false);
    expect(consentOn(given, history, day(19)).outreach).toBe(false);
    expect(consentOn(given, history, day(20)).outreach).toBe(true);
  });

  it('reads two consent events of one day the most protective way, in either order', () => {
    const both = [consent(10, true, false), consent(10, false, true)];

    expect(consentOn(given, both, day(10))).toEqual({ outreach: false, part2: false });
    expect(consentOn(given, [...both].reverse(), day(10))).toEqual({ outreach: false, part2: false });
  });
});

describe('what an enrollment adds to the cohort counters', () => {
  it('does not count an overdose dated after a disenrollment, whichever was recorded first (the issue’s first case)', () => {
    const counted = contribution(facts, [overdose(50), disenrolled(45)]);

    expect(Object.keys(counted).filter((name) => name.startsWith('od:'))).toEqual([]);
    expect(counted).toMatchObject({ [`end:${day(45)}`]: 1, [`disenrolled:${day(45)}`]: 1 });
    expect(contribution(facts, [disenrolled(45), overdose(50)])).toEqual(counted);
  });

  it('counts the fatal overdose but not a later one recorded before it (the issue’s second case)', () => {
    const counted = contribution(facts, [overdose(70), overdose(60, true)]);

    expect(counted).toMatchObject({ [`od:${day(60)}`]: 1, [`died:${day(60)}`]: 1 });
    expect(counted[`od:${day(70)}`]).toBeUndefined();
  });

  it('counts the enrollment itself, its prior overdoses and its medication before any event', () => {
    expect(contribution(facts, [])).toEqual({ enrollments: 1, priorOverdoses: 3, 'medication:methadone': 1 });
  });

  it('gives the difference that turns one contribution into another', () => {
    expect(counterDiff({ a: 1, b: 2 }, { b: 2, c: 1 })).toEqual({ a: -1, c: 1 });
  });

  it('says what an earlier version counted: overdoses within the follow-up as then known, the first ending recorded', () => {
    const counted = legacyContribution({ ...facts, retained: { '30': true } }, [
      { type: 'overdose', occurredOn: day(50), fatal: false },
      { type: 'disenrolled', occurredOn: day(45) },
      { type: 'overdose', occurredOn: day(60), fatal: true },
    ]);

    expect(counted).toEqual({
      enrollments: 1,
      priorOverdoses: 3,
      'medication:methadone': 1,
      retained30: 1,
      [`od:${day(50)}`]: 1,
      [`end:${day(45)}`]: 1,
      [`disenrolled:${day(45)}`]: 1,
    });
  });
});
