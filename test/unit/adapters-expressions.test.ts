import { describe, expect, it } from 'vitest';
import { expressionsOf } from '../../functions/adapters/expressions.js';
import { spelled } from './handlers/fakes.js';

describe('item changes as DynamoDB expressions', () => {
  it('puts every name and value in a placeholder, clauses in SET, REMOVE, ADD order', () => {
    // Act
    const expressed = expressionsOf({
      actions: [
        { add: ['count'], value: 1 },
        { remove: ['lots', '=cmd lot'] },
        { set: ['stock', 'naloxone-nasal-4mg'], minus: 2 },
        { set: ['previous'], from: ['current'] },
      ],
      conditions: [
        { path: ['stock', 'naloxone-nasal-4mg'], op: '>=', value: 8 },
        { anyOf: [{ notExists: ['alerted'] }, { exists: ['current'] }] },
      ],
    });

    // Assert
    expect(spelled(expressed.UpdateExpression, expressed)).toBe(
      'SET stock.naloxone-nasal-4mg = stock.naloxone-nasal-4mg - 2, previous = current REMOVE lots.=cmd lot ADD count 1',
    );
    expect(spelled(expressed.ConditionExpression, expressed)).toBe(
      'stock.naloxone-nasal-4mg >= 8 AND (attribute_not_exists(alerted) OR attribute_exists(current))',
    );
    // Only placeholders in the expressions: a map key such as a lot printed on a box cannot break them.
    expect(expressed.UpdateExpression).toMatch(
      /^SET #n\d+\.#n\d+ = #n\d+\.#n\d+ - :v\d+, #n\d+ = #n\d+ REMOVE/,
    );
    expect(Object.keys(expressed.ExpressionAttributeNames ?? {})).toHaveLength(8);
  });

  it('leaves out what a change does not need', () => {
    expect(expressionsOf({ actions: [], conditions: [] })).toEqual({});
  });
});
