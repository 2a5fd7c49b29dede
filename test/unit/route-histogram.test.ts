import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RouteHistogram } from '../../src/metrics/route-histogram.js';

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10];

/** The same observations into prom-client's Histogram and into RouteHistogram, each in a registry of its own. */
function both(observations: readonly (readonly [string, number])[]) {
  const theirs = new Registry();
  const ours = new Registry();
  const histogram = new Histogram({ name: 'h_seconds', help: 'Help text.', labelNames: ['route'], buckets: BUCKETS, registers: [theirs] });
  const route = new RouteHistogram('h_seconds', 'Help text.', BUCKETS, [ours]);
  for (const [r, v] of observations) {
    histogram.observe({ route: r }, v);
    route.observe(r, v);
  }
  return { theirs, ours, route };
}

describe("RouteHistogram reports what prom-client's Histogram reports", () => {
  // On a bound, between bounds, above every bound, zero; several routes in first-seen order.
  const observations = [
    ['/graphql', 0.0004],
    ['/graphql', 0.001],
    ['/health', 0.003],
    ['/graphql', 0.07],
    ['other', 11],
    ['/graphql', 0],
    ['/health', 2.5],
    ['/api/status', 0.2],
  ] as const;

  it('the same exposition text, byte for byte', async () => {
    const { theirs, ours } = both(observations);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    expect(text).toContain('h_seconds_bucket{le="0.001",route="/graphql"} 3');
    expect(text).toContain('h_seconds_bucket{le="+Inf",route="other"} 1');
    expect(text).toContain('h_seconds_bucket{le="10",route="other"} 0');
  });

  it('the same JSON, and nothing after a reset', async () => {
    const { theirs, ours } = both(observations);
    const strip = (json: unknown) => JSON.parse(JSON.stringify(json));
    expect(strip(await ours.getMetricsAsJSON())).toEqual(strip(await theirs.getMetricsAsJSON()));
    ours.resetMetrics();
    theirs.resetMetrics();
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });

  it('merges with another registry (as /metrics serves the process metrics beside it)', async () => {
    const { ours } = both([['/graphql', 0.002]]);
    const other = new Registry();
    const merged = Registry.merge([other, ours]);
    expect(await merged.metrics()).toContain('h_seconds_count{route="/graphql"} 1');
  });
});
