import { describe, expect, it } from 'vitest';
import { takingTurns } from '../../../functions/core/in-turn.js';

function deferred() {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((yes, no) => {
    resolve = yes;
    reject = no;
  });
  return { promise, resolve, reject };
}

describe('work in turn per key', () => {
  const inTurn = takingTurns();

  it('starts work for a key only when the work started before it for that key has settled', async () => {
    const first = deferred();
    const started: string[] = [];

    const one = inTurn('kiosk-a', async () => {
      started.push('one');
      await first.promise;
    });
    const two = inTurn('kiosk-a', async () => {
      started.push('two');
    });
    await new Promise((resolve) => setImmediate(resolve));
    const beforeFirstSettled = [...started];
    first.resolve();
    await Promise.all([one, two]);

    expect(beforeFirstSettled).toEqual(['one']);
    expect(started).toEqual(['one', 'two']);
  });

  it('runs the next work after one that failed, and hands each caller its own outcome', async () => {
    const failing = inTurn('kiosk-b', async () => {
      throw new Error('conditional check failed');
    });
    const next = inTurn('kiosk-b', async () => 'recorded');

    await expect(failing).rejects.toThrow('conditional check failed');
    await expect(next).resolves.toBe('recorded');
  });

  it('does not make work for one key wait for another key', async () => {
    const blocked = deferred();
    const slow = inTurn('kiosk-c', () => blocked.promise);

    const other = await inTurn('kiosk-d', async () => 'done while kiosk-c waits');
    blocked.resolve();
    await slow;

    expect(other).toBe('done while kiosk-c waits');
  });

  it('keeps the turns of one set apart from those of another, even for the same key', async () => {
    const blocked = deferred();
    const slow = inTurn('K-1', () => blocked.promise);

    const other = await takingTurns()('K-1', async () => 'done while the first set waits');
    blocked.resolve();
    await slow;

    expect(other).toBe('done while the first set waits');
  });
});
