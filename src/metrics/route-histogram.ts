import type { Metric, Registry } from 'prom-client';

interface Series {
  /** Observations per bucket (not cumulative); the last slot counts those above every bound. */
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

/**
 * A histogram with one label (`route`), observed on every request, that reports exactly what
 * prom-client's Histogram reports (same families, lines and order: a unit test compares the two
 * byte for byte). prom-client's `observe` builds a label object, validates and hashes it and looks
 * the series up by that string on each call; on a cached read that was ~1.4 µs of ~18 (A/B, server
 * CPU per answer). Here an observation is a Map lookup by route and a scan of 12 bounds.
 *
 * prom-client's Registry is duck-typed: it asks a metric for `getForPromString()` (the text) or
 * `get()` (JSON) and `reset()`, which is what this implements.
 */
export class RouteHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  readonly labelNames = ['route'] as const;
  private readonly series = new Map<string, Series>();
  private readonly bounds: Float64Array;

  constructor(
    readonly name: string,
    readonly help: string,
    readonly upperBounds: readonly number[],
    registers: readonly Registry[] = [],
    /** Run before each report (e.g. to take in what was buffered). */
    private readonly collect?: () => void,
  ) {
    this.bounds = Float64Array.from(upperBounds);
    for (const registry of registers) registry.registerMetric(this as unknown as Metric);
  }

  observe(route: string, value: number): void {
    let series = this.series.get(route);
    if (series === undefined) {
      series = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
      this.series.set(route, series);
    }
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    series.counts[i]! += 1;
    series.sum += value;
    series.count += 1;
  }

  /** As prom-client's Histogram.getForPromString: bucket lines carry `le` with the route as a shared label. */
  async getForPromString() {
    this.collect?.();
    const bucket = `${this.name}_bucket`;
    const values: {
      labels: Record<string, string | number>;
      sharedLabels: Record<string, string>;
      value: number;
      metricName: string;
      exemplar?: null;
    }[] = [];
    for (const [route, series] of this.series) {
      const shared = { route };
      let cumulative = 0;
      this.upperBounds.forEach((le, i) => {
        cumulative += series.counts[i]!;
        values.push({ labels: { le }, sharedLabels: shared, value: cumulative, metricName: bucket, exemplar: null });
      });
      values.push({ labels: { le: '+Inf' }, sharedLabels: shared, value: series.count, metricName: bucket, exemplar: null });
      values.push({ labels: {}, sharedLabels: shared, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: {}, sharedLabels: shared, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  /** As prom-client's Histogram.get: the same values with the shared label folded into each one's labels. */
  async get() {
    const report = await this.getForPromString();
    return {
      ...report,
      values: report.values.map(({ labels, sharedLabels, ...value }) => ({ ...value, labels: { ...labels, ...sharedLabels } })),
    };
  }

  reset(): void {
    this.series.clear();
  }
}
