import { createHash } from 'node:crypto';

/**
 * Seeded randomness for the simulator. Every generated fact derives from the
 * seed through named streams (`stream(seed, 'kiosk', 3)`), so adding a kiosk
 * does not reshuffle the enrollments, and a run can be replayed exactly.
 */
export type Random = () => number;

/** mulberry32: a small, fast 32-bit generator; [0, 1). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A uniform number in [0, 1) fixed by its labels (for decisions that depend on backend ids). */
export function hashUnit(...labels: (string | number)[]): number {
  const digest = createHash('sha256').update(labels.join('\u0000')).digest();
  return digest.readUInt32BE(0) / 4_294_967_296;
}

/** An independent generator named by the seed and labels. */
export function stream(seed: number, ...labels: (string | number)[]): Random {
  const digest = createHash('sha256')
    .update([seed, ...labels].join('\u0000'))
    .digest();
  return mulberry32(digest.readUInt32BE(0));
}

export const chance = (random: Random, p: number): boolean => random() < p;

/** An integer in [min, max]. */
export const intBetween = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));

export function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** Picks by weight: `[[value, weight], ...]`. */
export function weighted<T>(random: Random, choices: readonly (readonly [T, number])[]): T {
  const total = choices.reduce((sum, [, weight]) => sum + weight, 0);
  let r = random() * total;
  for (const [value, weight] of choices) {
    r -= weight;
    if (r < 0) return value;
  }
  return choices[choices.length - 1][0];
}

/** Poisson by Knuth's method for small means, a rounded normal for large ones. */
export function poisson(random: Random, mean: number): number {
  if (mean <= 0) return 0;
  if (mean > 60) {
    const u = 1 - random();
    const v = random();
    const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    return Math.max(0, Math.round(mean + Math.sqrt(mean) * normal));
  }
  const limit = Math.exp(-mean);
  let k = 0;
  let p = random();
  while (p > limit) {
    k += 1;
    p *= random();
  }
  return k;
}

/** Days until an event of the given mean delay (geometric on whole days, at least 0). */
export function geometricDays(random: Random, meanDays: number): number {
  const p = 1 / (meanDays + 1);
  return Math.floor(Math.log(1 - random()) / Math.log(1 - p));
}

/** A version-4-shaped UUID from the generator (ids derive from the seed). */
export function uuid(random: Random): string {
  const bytes = new Uint8Array(16);
  for (let i = 0; i < 16; i += 1) bytes[i] = Math.floor(random() * 256);
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A US-style E.164 number in the fictional 555-01xx range plus random digits. */
export function phone(random: Random): string {
  return `+1${intBetween(random, 201, 989)}555${String(intBetween(random, 0, 9999)).padStart(4, '0')}`;
}
