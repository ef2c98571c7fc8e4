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

type Item = { [key: string]: unknown };

function at(item: Item, path: Path): unknown {
  let node: unknown = item;
  for (const key of path) node = node && typeof node === 'object' ? (node as Item)[key] : undefined;
  return node;
}

/** Sets (or, for undefined, removes) `path`, copying each object on the way that is not one of `copies` yet. */
function put(item: Item, path: Path, value: unknown, copies: Set<unknown>): void {
  let node = item;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (!next || typeof next !== 'object') node[key] = {};
    else if (!copies.has(next)) node[key] = Array.isArray(next) ? [...next] : { ...(next as Item) };
    copies.add(node[key]);
    node = node[key] as Item;
  }
  const last = path[path.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
}

/**
 * The item as DynamoDB leaves it after `change` applied to `item` (conditions assumed met): what a
 * writer that keeps a copy of an item (a container's kiosk records) holds after its own write.
 * Every value on the right of an action is read from the item before the change, as DynamoDB does.
 */
export function applyChange<T extends object>(item: T, change: ItemChange): T {
  const before = item as unknown as Item;
  // Copied along the changed paths only, the rest shared with `item` (which is never changed): cloning the
  // whole record was most of the cost of keeping a container's kiosk copy after each event.
  const after: Item = { ...before };
  const copies = new Set<unknown>([after]);
  const set = (path: Path, value: unknown) => put(after, path, value, copies);
  for (const action of change.actions) {
    if ('remove' in action) set(action.remove, undefined);
    else if ('add' in action) set(action.add, Number(at(before, action.add) ?? 0) + action.value);
    else if ('minus' in action) set(action.set, Number(at(before, action.set)) - action.minus);
    else if ('from' in action) set(action.set, structuredClone(at(before, action.from)));
    else set(action.set, structuredClone(action.value));
  }
  return after as unknown as T;
}
