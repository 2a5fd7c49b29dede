/**
 * `npm run bench:presets`: activation -> runner applied for a newly added preset beside a static
 * strategy, measured as `npm run bench:reload` measures it (embedded runner, HTTP activation, the
 * moment the runner reports the version applied), interleaved in one run so both rows see the same
 * machine. Also: an edit of the preset in force -> the runner applied it (presets version).
 * Usage: npm run bench:presets [-- --n 300]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../src/log.js';
import type { RunnerState } from '../src/runner/state.js';
import { startControlPlane } from '../src/server.js';

const { values } = parseArgs({ options: { n: { type: 'string' }, warmup: { type: 'string' } } });
const N = Number(values.n ?? 300);
const WARMUP = Number(values.warmup ?? 20);
const TOKEN = 'bench-token-0123456789abcdef';
const STATICS = ['gold', 'range', 'momentum', 'eur_usd_5m_safe', 'momentum_v2'];

const dir = await mkdtemp(path.join(tmpdir(), 'scp-bench-presets-'));
const plane = await startControlPlane({
  host: '127.0.0.1',
  port: 0,
  runtimeDir: dir,
  adminToken: TOKEN,
  logger: createLogger({ level: 'silent' }),
  runner: {},
});
const runner = plane.runner!;

async function gql(query: string, variables: Record<string, unknown> = {}): Promise<Record<string, any>> {
  const res = await fetch(plane.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as { data?: Record<string, any>; errors?: unknown };
  if (!body.data) throw new Error(`${query.slice(0, 40)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** Time from just before `act` to the runner reporting a state that `applied` accepts (ms). */
async function timeToApplied(act: () => Promise<unknown>, applied: (s: RunnerState) => boolean): Promise<number> {
  let at = 0;
  const off = runner.subscribe((s) => {
    if (!at && applied(s)) at = performance.now();
  });
  const t0 = performance.now();
  await act();
  off();
  if (!at) throw new Error('not applied by the time the change was answered');
  return at - t0;
}

const ACTIVATE = 'mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }';
const UPSERT = 'mutation($p: PresetInput!) { upsertPreset(input: $p) { presetsVersion } }';
const DELETE = 'mutation($k: String!) { deletePreset(key: $k) { presetsVersion } }';

const rows = { preset: [] as number[], static: [] as number[], edit: [] as number[] };
const activate = (key: string) => {
  const expected = plane.services.store.state().config.config.version + 1;
  return timeToApplied(
    () => gql(ACTIVATE, { k: key }),
    (s) => s.applied?.configVersion === expected,
  );
};

process.stderr.write(`bench:presets: ${N} rounds (after ${WARMUP} warm-up), runtime dir ${dir}\n`);
for (let i = 0; i < WARMUP + N; i++) {
  const key = `bench_${i}`;
  // Not timed: the preset is added just before it is activated.
  await gql(UPSERT, { p: { key, base: 'gold', name: `Bench ${i}`, tunables: { fast_ma_period: 5 + (i % 10) } } });
  const preset = await activate(key);
  // The preset in force edited: the runner re-applies with the new tunables (the presets version moves).
  const nextPresets = plane.services.store.state().presets.version + 1;
  const edit = await timeToApplied(
    () => gql(UPSERT, { p: { key, base: 'gold', name: `Bench ${i}`, tunables: { fast_ma_period: 30 + (i % 10) } } }),
    (s) => s.applied?.presetsVersion === nextPresets,
  );
  const fixed = await activate(STATICS[i % STATICS.length] as string);
  await gql(DELETE, { k: key });
  if (i >= WARMUP) {
    rows.preset.push(preset);
    rows.static.push(fixed);
    rows.edit.push(edit);
  }
}
await plane.close();
await rm(dir, { recursive: true, force: true });

const q = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] as number;
const fmt = (ms: number) => ms.toFixed(2).padStart(8);
const names = {
  static: 'activate a static strategy -> runner applied',
  preset: 'activate a newly added preset -> runner applied',
  edit: 'edit the preset in force -> runner applied',
};
const width = Math.max(...Object.values(names).map((n) => n.length));
const load = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
console.log(`\nactivation latency, ms (n=${N} each, interleaved; node ${process.version}, ${cpus().length} cores, load average ${load})\n`);
console.log(`${'path'.padEnd(width)}  ${'p50'.padStart(8)}${'p95'.padStart(8)}${'p99'.padStart(8)}${'max'.padStart(8)}`);
for (const [row, samples] of Object.entries(rows)) {
  const sorted = [...samples].sort((a, b) => a - b);
  console.log(
    `${names[row as keyof typeof names].padEnd(width)}  ${fmt(q(sorted, 0.5))}${fmt(q(sorted, 0.95))}${fmt(q(sorted, 0.99))}${fmt(sorted.at(-1) as number)}`,
  );
}
const ratio =
  q(
    [...rows.preset].sort((a, b) => a - b),
    0.5,
  ) /
  q(
    [...rows.static].sort((a, b) => a - b),
    0.5,
  );
console.log(`\npreset / static, p50: ${ratio.toFixed(2)}x`);
process.exit(0);
