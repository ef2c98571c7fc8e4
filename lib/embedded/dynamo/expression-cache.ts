/**
 * Parses each DynamoDB expression once per shape instead of once per request.
 *
 * dynalite parses every ConditionExpression and UpdateExpression with a PEG parser on every call:
 * measured on the kiosk ingest path, about a quarter of the embedded backend's CPU (a kiosk event's
 * transaction carries 8 expressions). The handlers send the same few expression strings again and
 * again with different values, and the parser only ever looks at a value's type, so the tree it builds
 * for one request is the tree for the next with the values swapped.
 *
 * A parse is reused when the expression, the attribute names and the type of every attribute value are
 * the same. Expressions whose outcome depends on the values themselves (BETWEEN compares its bounds,
 * attribute_type checks its type name) are always parsed, as are expressions that fail to parse, so
 * every error is dynalite's own. dynalite's parsers have no option for this; hence the wrapper.
 */

type AttributeValue = Record<string, unknown>;

interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, AttributeValue>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  isKeyCondition?: boolean;
}

interface Parser {
  parse(input: string, options: { context: ParseContext }): unknown;
}

interface Parsed {
  /** The tree with each attribute value replaced by a placeholder naming it. */
  readonly template: unknown;
  readonly namesUsed: readonly string[];
  readonly valuesUsed: readonly string[];
}

/** Stands for an attribute value in a cached tree. */
class ValueSlot {
  constructor(readonly name: string) {}
}

const VALUE_DEPENDENT = /\bbetween\b|\battribute_type\b/i;
const MAX_SHAPES = 2_000;
const wrapped = new WeakSet<Parser>();

/** Replaces `parser.parse` with a parse that reuses trees (idempotent). */
export function cacheParses(parser: Parser): void {
  if (wrapped.has(parser)) return;
  wrapped.add(parser);
  const parse = parser.parse.bind(parser);
  const shapes = new Map<string, Parsed>();
  parser.parse = (input, options) => {
    const context = options.context;
    if (VALUE_DEPENDENT.test(input)) return parse(input, options);
    const key = shapeKey(input, context);
    const known = shapes.get(key);
    if (known) {
      for (const name of known.namesUsed) delete context.unusedAttrNames?.[name];
      for (const name of known.valuesUsed) delete context.unusedAttrVals?.[name];
      return fill(known.template, context.attrVals ?? {});
    }
    // What this expression uses, counted from every name and value of the request: another expression of
    // the request (the update before a condition) may have marked some used already.
    const names = Object.keys(context.attrNames ?? {});
    const values = Object.keys(context.attrVals ?? {});
    const probe: ParseContext = {
      ...context,
      unusedAttrNames: Object.fromEntries(names.map((name) => [name, true])),
      unusedAttrVals: Object.fromEntries(values.map((name) => [name, true])),
    };
    const tree = parse(input, { ...options, context: probe });
    const namesUsed = names.filter((name) => !probe.unusedAttrNames?.[name]);
    const valuesUsed = values.filter((name) => !probe.unusedAttrVals?.[name]);
    for (const name of namesUsed) delete context.unusedAttrNames?.[name];
    for (const name of valuesUsed) delete context.unusedAttrVals?.[name];
    const slots = new Map<unknown, ValueSlot>(
      Object.entries(context.attrVals ?? {}).map(([name, value]) => [value, new ValueSlot(name)]),
    );
    // Two names holding the very same object cannot be told apart in the tree: leave such a shape uncached.
    if (slots.size !== values.length) return tree;
    if (shapes.size >= MAX_SHAPES) shapes.clear();
    shapes.set(key, { template: hollow(tree, slots), namesUsed, valuesUsed });
    return tree;
  };
}

function shapeKey(input: string, context: ParseContext): string {
  const values = context.attrVals ?? {};
  const types = Object.keys(values)
    .map((name) => `${name}:${Object.keys(values[name] ?? {}).join('|')}`)
    .join(',');
  return `${context.isKeyCondition ? 'key' : ''}\u0000${input}\u0000${JSON.stringify(context.attrNames ?? {})}\u0000${types}`;
}

/** A copy of the tree with every attribute value object (by identity) replaced by its slot. */
function hollow(node: unknown, slots: Map<unknown, ValueSlot>): unknown {
  const slot = slots.get(node);
  if (slot) return slot;
  if (Array.isArray(node)) return node.map((child) => hollow(child, slots));
  if (node && typeof node === 'object') {
    const copy: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(node)) copy[key] = hollow(child, slots);
    return copy;
  }
  return node;
}

/** A fresh tree from the template, each slot filled with this request's value. */
function fill(node: unknown, values: Record<string, AttributeValue>): unknown {
  if (node === null || typeof node !== 'object') return node;
  if (node instanceof ValueSlot) return values[node.name];
  if (Array.isArray(node)) {
    const copy = new Array(node.length);
    for (let i = 0; i < node.length; i += 1) copy[i] = fill(node[i], values);
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key in node) copy[key] = fill((node as Record<string, unknown>)[key], values);
  return copy;
}
