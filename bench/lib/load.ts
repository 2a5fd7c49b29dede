import autocannon from 'autocannon';
import { TOKEN } from './processes.js';

export interface LoadSpec {
  url: string;
  connections: number;
  /** seconds */
  duration: number;
  /** The request body: fixed, or made per request (e.g. alternating strategy keys). */
  body: string | (() => string);
}

export interface LoadResult {
  /** 2xx answers per second over the run */
  rps: number;
  ok: number;
  non2xx: number;
  errors: number;
  /** ms, from every answer's own response time (autocannon's histogram keeps whole milliseconds only) */
  p50: number;
  p99: number;
}

/** The same request headers for every peer (the peers ignore the token). */
export const HEADERS: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` };

/** Nearest-rank percentile over a typed array (sorted in place): load runs collect 100k+ samples. */
function rank(sorted: Float64Array, q: number): number {
  return sorted.length === 0 ? Number.NaN : sorted[Math.ceil(q * sorted.length) - 1]!;
}

/** One autocannon run (as a library), every response time kept at full precision. */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  let times = new Float64Array(1 << 16);
  let n = 0;
  const body = spec.body;
  let done!: (r: autocannon.Result) => void;
  let failed!: (e: Error) => void;
  const finished = new Promise<autocannon.Result>((resolve, reject) => {
    done = resolve;
    failed = reject;
  });
  const instance = autocannon(
    {
      url: spec.url,
      connections: spec.connections,
      duration: spec.duration,
      method: 'POST',
      headers: HEADERS,
      ...(typeof body === 'string'
        ? { body }
        : { requests: [{ method: 'POST', setupRequest: (req: autocannon.Request) => ({ ...req, body: body() }) }] }),
    },
    (err, result) => (err ? failed(err) : done(result)),
  );
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    if (statusCode < 200 || statusCode > 299) return;
    if (n === times.length) {
      const bigger = new Float64Array(times.length * 2);
      bigger.set(times);
      times = bigger;
    }
    times[n++] = responseTime;
  });
  const result = await finished;
  const sorted = times.subarray(0, n).sort();
  return {
    rps: result['2xx'] / result.duration,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    p50: rank(sorted, 0.5),
    p99: rank(sorted, 0.99),
  };
}
