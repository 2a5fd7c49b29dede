import { cpus, loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { ATTACKS, type AttackSize, type AttackStats, type Target } from '../helpers/attack/attacks.js';
import { startHealthProber } from '../helpers/attack/prober.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer } from '../helpers/server.js';

/**
 * The hostile-input probe (issue 14): each class of attack in turn against `stratctl serve` in its
 * own process, with generated inputs from many client addresses, while a separate thread probes
 * `/health` from another address. `HOSTILE_SIZE=ci` (`.ci/run`, `npm run probe`) runs each for
 * 6 s; `npm run soak` for 30 s.
 */
const SIZES: Record<'ci' | 'full', AttackSize> = {
  ci: { durationMs: 6_000, loops: 4, floodSockets: 2_000, revocations: 6 },
  full: { durationMs: 30_000, loops: 8, floodSockets: 6_000, revocations: 30 },
};
const SIZE = process.env.HOSTILE_SIZE === 'ci' ? 'ci' : 'full';
const TOKEN = 'hostile-probe-token-0123456789abcdef';
/** DESIGN: under every attack, /health answers within 100 ms at p99. */
const HEALTH_P99_MS = 100;
/** A machine whose /health p99 without any attack is above this is too busy to measure the bound on. */
const QUIET_BASELINE_P99_MS = 25;
/** On a busy machine: no probe may wait this long (a stalled event loop, not slow neighbours). */
const STALL_MS = 2_000;

const load = () =>
  `load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')} on ${cpus().length} CPUs`;

function table(results: AttackStats[]): string {
  const columns =
    'attack | tried | accepted | refused | no answer | 5xx | crashes | files changed | /health probes | p50 ms | p99 ms | max ms | failed probes';
  const rows = results.map((r) =>
    [r.attack, r.tried, r.accepted, r.refused, r.noAnswer, r.server5xx, r.crashes, r.filesChanged]
      .concat([r.health?.probes, r.health?.p50, r.health?.p99, r.health?.max, r.health?.failures].map((v) => v ?? ''))
      .join(' | '),
  );
  return [columns, ...rows].join('\n');
}

describe(`hostile-input probe (${SIZE})`, () => {
  it(
    'every attack class: no crash, no 5xx, no leak, nothing written over a refused file, /health p99 within 100 ms while it runs',
    async () => {
      const size = SIZES[SIZE];
      const runtimeDir = await tempRuntimeDir();
      const server = await spawnServer(runtimeDir, [], { CONTROL_PLANE_TOKEN: TOKEN, CONTROL_PLANE_LOG_LEVEL: 'warn' });
      const target: Target = {
        origin: new URL(server.url).origin,
        url: server.url,
        token: TOKEN,
        runtimeDir,
        alive: () => server.proc.exitCode === null && server.proc.signalCode === null,
      };
      const prober = startHealthProber(target.origin);
      const baseline: AttackStats = {
        attack: 'none (baseline)',
        tried: 0,
        accepted: 0,
        refused: 0,
        server5xx: 0,
        noAnswer: 0,
        crashes: 0,
        filesChanged: 0,
        violations: [],
        notes: {},
      };
      const after: AttackStats = { ...baseline, attack: 'none (after the attacks)', violations: [], notes: {} };
      const results: AttackStats[] = [baseline];
      try {
        await prober.take();
        await sleep(Math.min(size.durationMs, 5_000));
        baseline.health = await prober.take();
        for (const attack of Object.values(ATTACKS)) {
          await prober.take(); // from here on, only what overlaps the attack
          const stats = await attack(target, size);
          stats.health = await prober.take();
          results.push(stats);
          process.stdout.write(`${stats.attack}: ${JSON.stringify(stats)}\n`);
          if (!target.alive()) break;
        }
        // The machine again with no attack: its neighbours may have got busier during the run.
        await prober.take();
        await sleep(Math.min(size.durationMs, 5_000));
        after.health = await prober.take();
        results.push(after);
      } finally {
        await prober.stop();
      }
      process.stdout.write(`\nhostile-input probe (${SIZE}, ${size.durationMs / 1000} s per attack, ${load()}):\n${table(results)}\n`);

      // The bound is the server's, held over 30 s per attack (npm run soak); a 6 s CI run is too short a
      // sample to hold a p99 on a shared machine, so it reports the figures and asserts no stall. Where
      // the machine's own noise already takes much of the bound (other processes starving this one: the
      // runs with no attack), the probe says so and asserts no stall instead.
      const noise = Math.max(baseline.health?.p99 ?? 0, after.health?.p99 ?? 0);
      const quiet = noise <= QUIET_BASELINE_P99_MS;
      const holdToBound = quiet && SIZE === 'full';
      if (!holdToBound) {
        process.stdout.write(
          `\n*** ${quiet ? `${SIZE} size` : `/health p99 with no attack is up to ${noise} ms here (${load()}), too busy a machine`}: ` +
            `the ${HEALTH_P99_MS} ms bound is reported above, and no stall (max < ${STALL_MS} ms) asserted ***\n`,
        );
      }
      for (const r of results) {
        expect(r.violations, r.attack).toEqual([]);
        expect(r.crashes, r.attack).toBe(0);
        expect(r.server5xx, r.attack).toBe(0);
        expect(r.health?.failures, r.attack).toBe(0);
        if (holdToBound) expect(r.health?.p99, r.attack).toBeLessThanOrEqual(HEALTH_P99_MS);
        else expect(r.health?.max, r.attack).toBeLessThan(STALL_MS);
      }
      // Still serving, and it stops cleanly.
      expect((await fetch(`${target.origin}/health`)).status).toBe(200);
      expect(await server.stop('SIGTERM')).toBe(0);
    },
    30 * 60_000,
  );
});
