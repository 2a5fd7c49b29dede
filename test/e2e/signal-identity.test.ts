import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createClient } from 'graphql-sse';
import { describe, expect, it } from 'vitest';
import { runnerStateSchema } from '../../src/runner/state.js';
import { RUNNER_STATE_FILE, readRunnerStateFile } from '../../src/runner/state-file.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl, startTestServer } from '../helpers/server.js';
import { waitUntil } from '../helpers/wait.js';

const TOKEN = 'signal-identity-token-0123456789';
const SIGNALS = '{ signals(last: 1000) { instrument runnerId runStartedAt scan candleTime price } }';

interface Said {
  instrument: string;
  runnerId: string;
  runStartedAt: string | null;
  scan: number | null;
  candleTime: string | null;
  price: number | null;
}

/**
 * Every signal holds the run, and the scans are numbered 1, 2, 3... in the order they came: newest
 * first here (each scan signals at least one instrument; not every strategy scans every instrument).
 */
function expectNumberedRun(newestFirst: readonly Said[], run: string): void {
  const scans = newestFirst.map((s) => s.scan!);
  expect(newestFirst.every((s) => s.runStartedAt === run)).toBe(true);
  expect(scans).toEqual([...scans].sort((a, b) => b - a));
  expect([...new Set(scans)]).toEqual(Array.from({ length: scans[0]! }, (_, i) => scans[0]! - i));
}

describe('RunnerSignal.runStartedAt and scan: the run and scan that made a signal', () => {
  it('the embedded runner’s signals say them, the same in `signals`, `lastSignals` and `signalsEmitted`', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    const client = createClient({ url: server.url, retryAttempts: 0 });
    const emitted: Said[][] = [];
    let onConnected!: () => void;
    const connected = new Promise<void>((resolve) => {
      onConnected = resolve;
    });
    const dispose = client.subscribe<{ signalsEmitted: Said[] }>(
      { query: 'subscription { signalsEmitted { instrument runnerId runStartedAt scan candleTime price } }' },
      { next: (r) => r.data && emitted.push(r.data.signalsEmitted), error: () => {}, complete: () => {} },
      { connected: () => onConnected() },
    );
    try {
      await connected;
      // Each activation is scanned at once; each waited for before the next (changes that come while a
      // scan is due are scanned together, so three quick ones may be one scan or two).
      const signals = async () => (await server.gql(SIGNALS)).body.data?.signals as Said[];
      let all = await waitUntil(signals, (list) => (list[0]?.scan ?? 0) >= 1, { what: 'the first scan' });
      for (const key of ['range', 'momentum', 'range']) {
        const before = all[0]!.scan!;
        await server.gql(`mutation { activateStrategy(strategyKey: "${key}") { configVersion } }`);
        all = await waitUntil(signals, (list) => (list[0]?.scan ?? 0) > before, { what: `a scan after ${key}` });
      }
      const newest = all[0]!.scan!;
      expect(newest).toBeGreaterThanOrEqual(4);
      const run = all[0]!.runStartedAt!;
      expect(Number.isNaN(Date.parse(run))).toBe(false);
      expectNumberedRun(all, run);
      const status = (await server.gql('{ status { runner { lastSignals { instrument runStartedAt scan } } } }')).body.data?.status;
      expect(status.runner.lastSignals).toEqual(
        all
          .filter((s) => s.scan === newest)
          .reverse()
          .map(({ instrument }) => ({ instrument, runStartedAt: run, scan: newest })),
      );
      // What the stream said of a scan is what the query says of it: the same run and number, so a reader that has both keeps it once.
      const live = await waitUntil(
        async () => emitted.flat().filter((s) => s.scan !== null && s.candleTime !== null),
        (list) => list.length >= 3,
        { what: 'scans on signalsEmitted' },
      );
      const queried = (await server.gql(SIGNALS)).body.data?.signals as Said[];
      for (const s of live)
        expect(queried.filter((q) => q.instrument === s.instrument && q.runStartedAt === s.runStartedAt && q.scan === s.scan)).toEqual([s]);
    } finally {
      dispose();
      client.dispose();
    }
  });

  it('a separate runner’s signals say them; restarted under the same --runner-id it is another run, numbered from scan 1 again', async () => {
    const dir = await tempRuntimeDir();
    const api = await spawnServer(dir, ['--no-runner'], { CONTROL_PLANE_TOKEN: TOKEN });
    const signals = async () => (await gql(api.url, SIGNALS, undefined, { token: TOKEN })).body.data?.signals as Said[];
    const runner = spawnStratctl(['runner', '--runtime-dir', dir, '--runner-id', 'fixed', '--heartbeat-ms', '500']);
    await runner.waitFor(/strategy runner started/);
    const activate = (key: string) =>
      gql(
        api.url,
        `mutation { activateStrategy(strategyKey: "${key}", waitForRunner: true, timeoutMs: 15000) { configVersion } }`,
        undefined,
        {
          token: TOKEN,
        },
      );
    // Its first scan heard before the change is sent: the server hears a separate runner's state as
    // it is written, and two scans in quick succession (the start's, the change's) could reach it as one.
    await waitUntil(signals, (list) => list[0]?.scan === 1, { what: 'the first run’s first scan' });
    await activate('eur_usd_5m_safe');
    const first = await waitUntil(signals, (list) => list[0]?.scan === 2, { what: 'the first run’s scans' });
    const firstRun = first[0]!.runStartedAt!;
    expect(first[0]!.runnerId).toBe('fixed');
    expectNumberedRun(first, firstRun);

    await runner.stop('SIGTERM');
    const again = spawnStratctl(['runner', '--runtime-dir', dir, '--runner-id', 'fixed', '--heartbeat-ms', '500']);
    await again.waitFor(/strategy runner started/);
    // The same feed and seed: its first candle and price are the first run's first over again; only the run tells them apart.
    const after = await waitUntil(signals, (list) => list[0]?.runStartedAt !== firstRun, { what: 'the restarted run’s first scan' });
    const restarted = after.filter((s) => s.runStartedAt !== firstRun && s.instrument === 'EUR_USD');
    expect(restarted.map((s) => s.scan)).toEqual([1]);
    expect(Date.parse(restarted[0]!.runStartedAt!)).toBeGreaterThan(Date.parse(firstRun));
    expect(restarted[0]!.runnerId).toBe('fixed');
    const firstOfFirstRun = first.filter((s) => s.instrument === 'EUR_USD').at(-1)!;
    expect([restarted[0]!.candleTime, restarted[0]!.price]).toEqual([firstOfFirstRun.candleTime, firstOfFirstRun.price]);
    await activate('momentum');
    const second = await waitUntil(signals, (list) => list[0]?.scan === 2, { what: 'the restarted run’s second scan' });
    expectNumberedRun(
      second.filter((s) => s.runStartedAt === restarted[0]!.runStartedAt),
      restarted[0]!.runStartedAt!,
    );
    await again.stop('SIGTERM');
  });

  it('a runner of an older version (its state says no scan numbers) still parses, in the file and as etcd holds it; its signals say the run, scan null', async () => {
    const now = new Date().toISOString();
    // As a runner from before scan numbers wrote it: no `scan` on its signals, no scanCount, processStart, bootId...
    const old = {
      id: 'old-runner',
      host: 'h',
      pid: 4242,
      instruments: null,
      feed: 'sim:42',
      startedAt: '2026-11-29T00:00:00.000Z',
      heartbeatAt: now,
      heartbeatIntervalMs: 60_000,
      stopped: false,
      applied: null,
      lastScanAt: now,
      lastSignals: [
        {
          instrument: 'EUR_USD',
          strategyKey: 'momentum',
          direction: 'LONG',
          reason: 'up',
          values: {},
          price: 1.1,
          candleTime: now,
          error: null,
        },
      ],
      error: null,
    };
    // etcd's runner keys are read with the same schema (store-etcd/runners.ts).
    expect(runnerStateSchema.parse(old).lastSignals[0]).not.toHaveProperty('scan');
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, RUNNER_STATE_FILE), JSON.stringify(old));
    expect((await readRunnerStateFile(dir))?.id).toBe('old-runner');
    const server = await startTestServer({ runtimeDir: dir, runner: false });
    const said = (await server.gql(SIGNALS)).body.data?.signals;
    expect(said).toEqual([
      { instrument: 'EUR_USD', runnerId: 'old-runner', runStartedAt: old.startedAt, scan: null, candleTime: now, price: 1.1 },
    ]);
    const status = (await server.gql('{ status { runner { lastSignals { runStartedAt scan } } } }')).body.data?.status;
    expect(status.runner.lastSignals).toEqual([{ runStartedAt: old.startedAt, scan: null }]);
  });
});
