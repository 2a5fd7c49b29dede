import { Worker } from 'node:worker_threads';

/** `/health` latencies (ms) of one stretch of time, and the probes that got no 200 answer. */
export interface HealthFigures {
  probes: number;
  failures: number;
  p50: number;
  p99: number;
  max: number;
}

// A worker thread of its own, so the attack running in this thread cannot delay the probes and be
// mistaken for the server's latency. A new connection per probe, as a liveness probe makes it.
const PROBER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { hostname, port } = new URL(workerData.origin);
let samples = [];
let failures = 0;
let stopped = false;
function probe() {
  if (stopped) return;
  const start = process.hrtime.bigint();
  let done = false;
  const finish = (ok) => {
    if (done) return;
    done = true;
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ok) samples.push(ms); else { failures += 1; samples.push(ms); }
    setTimeout(probe, workerData.intervalMs);
  };
  const req = http.request({ host: hostname, port: Number(port), path: '/health', agent: false, localAddress: '127.0.0.1', timeout: 5000 }, (res) => {
    res.resume();
    res.on('end', () => finish(res.statusCode === 200));
    res.on('error', () => finish(false));
  });
  req.on('timeout', () => { req.destroy(); finish(false); });
  req.on('error', () => finish(false));
  req.end();
}
parentPort.on('message', (m) => {
  if (m === 'take') { parentPort.postMessage({ samples, failures }); samples = []; failures = 0; }
  if (m === 'stop') { stopped = true; parentPort.postMessage({ samples, failures }); }
});
probe();
`;

const quantile = (sorted: number[], q: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;

function figures(samples: number[], failures: number): HealthFigures {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    probes: samples.length,
    failures,
    p50: round(quantile(sorted, 0.5)),
    p99: round(quantile(sorted, 0.99)),
    max: round(sorted.at(-1) ?? 0),
  };
}

/** Probes `/health` every `intervalMs` from 127.0.0.1 (attackers use other addresses) until stopped. */
export function startHealthProber(origin: string, intervalMs = 20) {
  const worker = new Worker(PROBER, { eval: true, workerData: { origin, intervalMs } });
  const ask = (message: 'take' | 'stop') =>
    new Promise<HealthFigures>((resolve) => {
      worker.once('message', (m: { samples: number[]; failures: number }) => resolve(figures(m.samples, m.failures)));
      worker.postMessage(message);
    });
  return {
    /** The figures since the last call (the stretch of one attack). */
    take: () => ask('take'),
    stop: async () => {
      const last = await ask('stop');
      await worker.terminate();
      return last;
    },
  };
}
