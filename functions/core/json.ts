/**
 * Request bodies as bytes → text → JSON, with the limits that keep every later step bounded.
 * No AWS here, and no recursion over what a client sent.
 */

/** Deepest nesting a body may have. The deepest legitimate body (event → items → item) has 3 levels. */
export const MAX_JSON_DEPTH = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The bytes as text, or undefined when they are not valid UTF-8 (a byte order mark is kept, and then refused by JSON.parse). */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * How deeply JSON text nests, counted in one pass over the characters (brackets outside strings),
 * so that nothing recursive ever runs on a body nested too deeply.
 */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i += 1; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth += 1;
      if (depth > deepest) deepest = depth;
    } else if (c === 0x7d || c === 0x5d) depth -= 1;
  }
  return deepest;
}

export type ParsedBody =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly problem: 'not-json' | 'too-deep' };

/** Bytes to a JSON value: invalid UTF-8 or JSON is `not-json`; valid JSON nested too deeply is `too-deep`. */
export function parseJsonBytes(bytes: Uint8Array): ParsedBody {
  const text = decodeUtf8(bytes);
  if (text === undefined) return { ok: false, problem: 'not-json' };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, problem: 'not-json' };
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) return { ok: false, problem: 'too-deep' };
  return { ok: true, value };
}

export const TOO_DEEP_MESSAGE = `must not nest more than ${MAX_JSON_DEPTH} levels deep`;
