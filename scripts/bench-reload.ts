/**
 * `npm run bench:reload`: activation -> runner-applied latency, embedded and separate-process,
 * beside the floor (a bare write + rename -> fs.watch event on the same disk), all in one run.
 * Usage: npm run bench:reload [-- --n 300]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { watch } from 'node:fs';
import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { digestOf } from '../src/config/file-store.js';
import { writeFileAtomic } from '../src/fs/atomic-write.js';
import { createLogger } from '../src/log.js';
import { startControlPlane } from '../src/server.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, warmup: { type: 'string' } } });
const N = Number(values.n ?? 300);
const WARMUP = Number(values.warmup ?? 20);
const TOKEN = 'bench-token-0123456789abcdef';
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const STRATEGIES = ['gold', 'range', 'momentum', 'eur_usd_5m_safe', 'momentum_v2'];

type Sample = number[];
const rows: { name: string; samples: Sample; cpuMsPerOp: number }[] = [];

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Runs `once` WARMUP + N times, keeping the last N durations (ms). */
async function measure(name: string, once: (i: number) => Promise<number>): Promise<void> {
  const samples: number[] = [];
  let cpu = process.cpuUsage();
  for (let i = 0; i < WARMUP + N; i++) {
    if (i === WARMUP) cpu = process.cpuUsage();
    const ms = await once(i);
    if (i >= WARMUP) samples.push(ms);
  }
  const used = process.cpuUsage(cpu);
  // CPU of this process only: for the separate rows that is just the HTTP client.
  rows.push({ name, samples, cpuMsPerOp: (used.user + used.system) / 1000 / N });
  process.stderr.write(`  measured: ${name}\n`);
}

/** Resolves at the next fs.watch event naming `name` in `dir`. */
function watchFor(dir: string, name: string) {
  let wake: (() => void) | null = null;
  const watcher = watch(dir, (_event, file) => {
    if (file === name && wake) {
      const w = wake;
      wake = null;
      w();
    }
  });
  return {
    next: () => new Promise<void>((resolve) => (wake = resolve)),
    close: () => watcher.close(),
  };
}

async function floors(dir: string): Promise<void> {
  const target = path.join(dir, 'floor.yaml');
  const text = 'active_strategy_key: gold\n'.repeat(8);
  const w = watchFor(dir, 'floor.yaml');
  await measure('floor: write + rename -> fs.watch event', async (i) => {
    const seen = w.next();
    const t0 = performance.now();
    await writeFile(`${target}.${i}.tmp`, text);
    await rename(`${target}.${i}.tmp`, target);
    await seen;
    return performance.now() - t0;
  });
  await measure('floor: durable write (fsync, rename, dir fsync) -> event', async () => {
    const seen = w.next();
    const t0 = performance.now();
    await Promise.all([writeFileAtomic(target, text), seen]);
    return performance.now() - t0;
  });
  w.close();
}

async function activate(url: string, key: string, wait: boolean): Promise<Record<string, any>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({
      query: `mutation($k: String!, $w: Boolean) { activateStrategy(strategyKey: $k, waitForRunner: $w, timeoutMs: 5000) { configVersion runnerWait { applied } } }`,
      variables: { k: key, w: wait },
    }),
  });
  const body = (await res.json()) as { data?: { activateStrategy: Record<string, any> }; errors?: unknown };
  if (!body.data) throw new Error(`activation failed: ${JSON.stringify(body.errors)}`);
  if (wait && !body.data.activateStrategy.runnerWait.applied) throw new Error('runner did not apply within 5 s');
  return body.data.activateStrategy;
}

async function inProcess(dir: string): Promise<void> {
  const plane = await startControlPlane({
    host: '127.0.0.1',
    port: 0,
    runtimeDir: dir,
    adminToken: TOKEN,
    logger: createLogger({ level: 'silent' }),
    runner: {},
  });
  const runner = plane.runner!;
  await measure('embedded: activate over HTTP, no wait (durable write)', async (i) => {
    const t0 = performance.now();
    await activate(plane.url, STRATEGIES[i % STRATEGIES.length]!, false);
    return performance.now() - t0;
  });
  await measure('embedded: activate -> runner applied', async (i) => {
    const expected = plane.services.store.state().config.config.version + 1;
    let appliedAt = 0;
    const off = runner.subscribe((s) => {
      if (!appliedAt && s.applied?.configVersion === expected) appliedAt = performance.now();
    });
    const t0 = performance.now();
    await activate(plane.url, STRATEGIES[i % STRATEGIES.length]!, false);
    off();
    if (!appliedAt) throw new Error('not applied by the time the activation answered');
    return appliedAt - t0;
  });
  await measure('embedded: activate(waitForRunner) round trip', async (i) => {
    const t0 = performance.now();
    await activate(plane.url, STRATEGIES[i % STRATEGIES.length]!, true);
    return performance.now() - t0;
  });
  // The reload path alone, beside the floor: the same bare write + rename, then the runner's
  // fs.watch -> read -> validate -> apply (no HTTP, no durable write).
  const file = path.join(dir, 'config.yaml');
  const base = await readFile(file, 'utf8');
  await measure('embedded: hand edit (write + rename) -> runner applied', async (i) => {
    const key = STRATEGIES[i % STRATEGIES.length]!;
    const text = base.replace(/^active_strategy_key: \w+$/m, `active_strategy_key: ${key}`);
    const digest = digestOf(text);
    let off = () => {};
    const applied = new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`hand edit to ${key} not applied within 5 s`)), 5_000);
      off = runner.subscribe((s) => {
        if (s.applied?.configDigest === digest) {
          clearTimeout(timer);
          resolve(performance.now());
        }
      });
    });
    // The edit is written first, then renamed into place, as a person does: a file written and
    // renamed within one tick of the file clock is waited for like a file being written (README,
    // Files written in place), so the write comes a few ms before the clock starts.
    await writeFile(`${file}.${i}.edit`, text);
    await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await rename(`${file}.${i}.edit`, file);
    const at = await applied.finally(() => off());
    return at - t0;
  });
  await plane.close();
}

function spawnCli(args: string[], ready: RegExp): Promise<{ proc: ChildProcess; match: RegExpMatchArray }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    cwd: ROOT,
    // text format: the address and the runner's start line come on stdout (json would put them in log lines on stderr)
    env: { ...process.env, CONTROL_PLANE_TOKEN: TOKEN, CONTROL_PLANE_LOG_LEVEL: undefined, CONTROL_PLANE_LOG_FORMAT: 'text' },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const match = out.match(ready);
      if (match) resolve({ proc, match });
    });
    proc.once('exit', (code) => reject(new Error(`stratctl ${args[0]} exited (${code}) before it was ready`)));
  });
}

async function separate(dir: string): Promise<void> {
  const api = await spawnCli(['serve', '--no-runner', '--port', '0', '--runtime-dir', dir], /listening on (http:\/\/\S+)/);
  const runner = await spawnCli(['runner', '--runtime-dir', dir], /strategy runner started/);
  const url = api.match[1]!;
  try {
    await measure('separate: activate(waitForRunner) round trip', async (i) => {
      const t0 = performance.now();
      await activate(url, STRATEGIES[i % STRATEGIES.length]!, true);
      return performance.now() - t0;
    });
  } finally {
    // Wait for both to exit: the runner writes its final state on SIGTERM, which must not race the clean-up.
    await Promise.all(
      [runner.proc, api.proc].map((p) => {
        const exited = new Promise((resolve) => p.once('exit', resolve));
        p.kill('SIGTERM');
        return exited;
      }),
    );
  }
}

const base = await mkdtemp(path.join(tmpdir(), 'scp-bench-'));
try {
  process.stderr.write(`bench:reload: ${N} activations per row (after ${WARMUP} warm-up), runtime dirs under ${base}\n`);
  await floors(await mkdtemp(path.join(base, 'floor-')));
  await inProcess(await mkdtemp(path.join(base, 'embedded-')));
  await separate(await mkdtemp(path.join(base, 'separate-')));
} finally {
  await rm(base, { recursive: true, force: true });
}

const width = Math.max(...rows.map((r) => r.name.length));
const fmt = (ms: number) => ms.toFixed(2).padStart(8);
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`\nreload latency, ms (n=${N} each; node ${process.version}, ${cpus().length} cores, load average ${load})\n`);
console.log(
  `${'path'.padEnd(width)}  ${'p50'.padStart(8)}${'p95'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}${'cpu/op'.padStart(9)}`,
);
for (const { name, samples, cpuMsPerOp } of rows) {
  const sorted = [...samples].sort((a, b) => a - b);
  const q = (p: number) => fmt(quantile(sorted, p));
  console.log(`${name.padEnd(width)}  ${q(0.5)}${q(0.95)}${q(0.99)}${fmt(sorted.at(-1)!)} ${fmt(cpuMsPerOp)}`);
}
console.log('(cpu/op: CPU ms of the bench process per operation; for "separate" rows that is only the HTTP client)');
const embedded = rows.find((r) => r.name.startsWith('embedded: activate(waitForRunner)'))!;
const p99 = quantile(
  [...embedded.samples].sort((a, b) => a - b),
  0.99,
);
console.log(
  `\ntarget: embedded p99 < 20 ms (activation answered after the runner applied it): ${p99 < 20 ? 'met' : 'NOT met'} (${p99.toFixed(2)} ms)`,
);
process.exit(0);
