import type { Action, Condition, ItemChange, Path, Value } from '../core/updates.js';

export interface Expressed {
  UpdateExpression?: string;
  ConditionExpression?: string;
  ExpressionAttributeNames?: Record<string, string>;
  ExpressionAttributeValues?: Record<string, unknown>;
}

/**
 * An item change (functions/core/updates.ts) as DynamoDB expressions: every name and value a
 * placeholder, so no attribute or map key (a SKU, a lot as printed on the box) can break them.
 * Clauses come out as `SET …, … REMOVE … ADD …`; conditions joined with AND.
 */
export function expressionsOf(change: ItemChange): Expressed {
  const names = new Map<string, string>();
  const values: Record<string, unknown> = {};
  let valueCount = 0;
  const name = (segment: string) => {
    let placeholder = names.get(segment);
    if (!placeholder) {
      placeholder = `#n${names.size}`;
      names.set(segment, placeholder);
    }
    return placeholder;
  };
  const path = (segments: Path) => segments.map(name).join('.');
  const value = (v: Value | number) => {
    const placeholder = `:v${valueCount}`;
    valueCount += 1;
    values[placeholder] = v;
    return placeholder;
  };

  const sets: string[] = [];
  const removes: string[] = [];
  const adds: string[] = [];
  for (const action of change.actions as Action[]) {
    if ('remove' in action) removes.push(path(action.remove));
    else if ('add' in action) adds.push(`${path(action.add)} ${value(action.value)}`);
    else if ('minus' in action)
      sets.push(`${path(action.set)} = ${path(action.set)} - ${value(action.minus)}`);
    else if ('from' in action) sets.push(`${path(action.set)} = ${path(action.from)}`);
    else sets.push(`${path(action.set)} = ${value(action.value)}`);
  }
  const condition = (c: Condition): string => {
    if ('exists' in c) return `attribute_exists(${path(c.exists)})`;
    if ('notExists' in c) return `attribute_not_exists(${path(c.notExists)})`;
    if ('anyOf' in c) return `(${c.anyOf.map(condition).join(' OR ')})`;
    return `${path(c.path)} ${c.op} ${value(c.value)}`;
  };
  const conditions = change.conditions.map(condition);

  const clauses = [
    sets.length ? `SET ${sets.join(', ')}` : '',
    removes.length ? `REMOVE ${removes.join(', ')}` : '',
    adds.length ? `ADD ${adds.join(', ')}` : '',
  ].filter(Boolean);
  return {
    ...(clauses.length ? { UpdateExpression: clauses.join(' ') } : {}),
    ...(conditions.length ? { ConditionExpression: conditions.join(' AND ') } : {}),
    ...(names.size
      ? { ExpressionAttributeNames: Object.fromEntries([...names].map(([k, v]) => [v, k])) }
      : {}),
    ...(valueCount ? { ExpressionAttributeValues: values } : {}),
  };
}
