/**
 * A change to one stored item, as data: what to set, subtract, add or remove, and the conditions the
 * item must meet. The core plans changes in these terms (it knows what they mean); the DynamoDB
 * adapter turns them into expressions (functions/adapters/expressions.ts). Paths are attribute names
 * from the top of the item down (map keys included), never parsed from text: any key is safe.
 */

export type Path = readonly string[];
export type Scalar = string | number | boolean;
export type Value = Scalar | null | readonly Value[] | { readonly [key: string]: Value | undefined };

export type Comparison = '=' | '<>' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { readonly exists: Path }
  | { readonly notExists: Path }
  | { readonly path: Path; readonly op: Comparison; readonly value: Value }
  | { readonly anyOf: readonly Condition[] };

export type Action =
  | { readonly set: Path; readonly value: Value }
  /** path = path - amount (the attribute must exist). */
  | { readonly set: Path; readonly minus: number }
  /** path = the value of another attribute of the item. */
  | { readonly set: Path; readonly from: Path }
  | { readonly remove: Path }
  /** Numeric ADD: creates the attribute at `value` when missing. */
  | { readonly add: Path; readonly value: number };

export interface ItemChange {
  readonly actions: readonly Action[];
  readonly conditions: readonly Condition[];
}

export const noChange: ItemChange = { actions: [], conditions: [] };

export function merge(...changes: readonly ItemChange[]): ItemChange {
  return {
    actions: changes.flatMap((change) => change.actions),
    conditions: changes.flatMap((change) => change.conditions),
  };
}

export const isEmpty = (change: ItemChange) => change.actions.length === 0;

/**
 * Sets and removes entries of the map attribute `map`. When the map itself is missing from the item
 * (an item written before the map existed), the whole map is set to the new entries instead, on
 * condition that it is still missing: a stale guess fails the condition and the caller plans again
 * from the item as it is.
 */
export function mapChange(
  map: string,
  change: { readonly set?: Readonly<Record<string, Value>>; readonly remove?: readonly string[] },
  mapExists: boolean,
): ItemChange {
  const set = Object.entries(change.set ?? {});
  if (mapExists) {
    return {
      actions: [
        ...set.map(([key, value]): Action => ({ set: [map, key], value })),
        ...(change.remove ?? []).map((key): Action => ({ remove: [map, key] })),
      ],
      conditions: [],
    };
  }
  if (set.length === 0) return noChange;
  return {
    actions: [{ set: [map], value: Object.fromEntries(set) }],
    conditions: [{ notExists: [map] }],
  };
}
