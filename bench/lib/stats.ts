/** Pure helpers behind every figure `npm run bench` prints (unit-tested in test/unit/bench-stats.test.ts). */

/** Nearest-rank percentile: the smallest sample with at least q of the samples at or below it. q in (0, 1]. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) throw new Error('percentile of no samples');
  if (!(q > 0 && q <= 1)) throw new Error(`percentile rank must be in (0, 1], not ${q}`);
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.ceil(q * sorted.length) - 1]!;
}

/** The middle value; for an even count, the mean of the two middle values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no samples');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * The item whose key is the median (the lower middle one for an even count): "take the median
 * round" keeps one real round, so its latency figures belong to the req/s reported beside them.
 */
export function medianBy<T>(items: readonly T[], key: (item: T) => number): T {
  if (items.length === 0) throw new Error('median of no items');
  const sorted = [...items].sort((a, b) => key(a) - key(b));
  return sorted[(sorted.length - 1) >> 1]!;
}

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  min: number;
}

export function summarize(values: readonly number[]): Summary {
  return {
    n: values.length,
    p50: percentile(values, 0.5),
    p99: percentile(values, 0.99),
    max: Math.max(...values),
    min: Math.min(...values),
  };
}

/** ours / peer, or null when either side is missing or the peer measured nothing. */
export function ratio(ours: number | null | undefined, peer: number | null | undefined): number | null {
  if (ours == null || peer == null || !Number.isFinite(ours) || !Number.isFinite(peer) || peer <= 0) return null;
  return ours / peer;
}

/**
 * Ours against a peer measured in the same rounds: the median of the rounds' own ratios (round i of
 * `ours` against round i of `peer`), null without a complete pair. Paired, a slow spell of the shared
 * machine that slows every target in one round leaves that round's ratio alone; the ratio of the
 * two median rounds mixes rounds, and a spell could give both medians from the same slow round or
 * from different ones.
 */
export function pairedRatio(ours: readonly number[] | undefined, peer: readonly number[] | undefined): number | null {
  if (!ours || !peer || ours.length === 0 || ours.length !== peer.length) return null;
  const ratios = ours.map((value, i) => ratio(value, peer[i]));
  return ratios.every((r): r is number => r !== null) ? median(ratios) : null;
}

export function formatRatio(r: number | null): string {
  if (r === null) return 'n/a';
  return `${r < 0.1 ? r.toFixed(3) : r.toFixed(2)}x`;
}

/** 12345.6 -> "12,346" */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Milliseconds with a precision that suits the size: 0.42, 4.2, 42, 420. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return 'n/a';
  if (ms < 10) return ms.toFixed(2);
  if (ms < 100) return ms.toFixed(1);
  return ms.toFixed(0);
}

export function formatMb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(0)} MB`;
}
