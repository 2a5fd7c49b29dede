/**
 * Activation -> runner applied, measured as `activateStrategy(waitForRunner: true)` round trips
 * (the answer comes once the runner reports the new version applied): with the runner embedded
 * (`serve`) and separate (`serve --no-runner` + `stratctl runner`, which learns of the change
 * through the config file). Plain activations are interleaved with them, so the part the runner
 * adds shows beside the rest. The floor: a durable write of a small file -> its fs.watch event.
 */

import { once } from 'node:events';
import { watch } from 'node:fs';
import { mkdtemp, open, rename } from 'node:fs/promises';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { type RunningServer, startRunner, startServer, waitForRunnerRunning } from '../lib/control-plane.js';
import { groupFloorDirIn, groupWriteWorkerSource, timedGroupWrite } from '../lib/group-write.js';
import { activationOf, keepAlive, keyCycle, postGraphQL, QUERIES } from '../lib/http.js';
import { stop } from '../lib/processes.js';
import { atMost, type Row } from '../lib/report.js';
import { formatMs, type Summary, summarize } from '../lib/stats.js';
import { type Peer, startPeers } from './peers.js';

export interface ReloadFigures {
  applied: Summary;
  noWait: Summary;
  /** The server's own `runnerWait.waitedMs` (whole ms): from the commit answered by the store to the runner applying it. */
  waited: Summary;
  /** A read on the same connection, interleaved (answered from the response cache): HTTP and the event loop, no disk. */
  read: Summary;
  /** The same read from plain node:http returning the same bytes, interleaved on its own keep-alive connection: this host's floor for a round trip. */
  plainRead: Summary;
  /**
   * One group commit's disk work alone (`groupWriteOnce`, in this process, on the server's file
   * system), one after each activation that waits for the runner: the disk's own share at the same
   * moments, so a tail that is the disk's shows as such in the same row.
   */
  disk: Summary;
  /**
   * A bare node:http server (the plain peer) doing the same disk work on a worker thread, asked and
   * answered by message as the file store's I/O thread is, before it answers: one request on its
   * own keep-alive connection after each activation that waits for the runner. This host's floor
   * for a durable activation over HTTP, at the same moments: what is left above it is this server's.
   */
  plainDurable: Summary;
}

/**
 * One loop's figures: `pairs` activation pairs (one waiting for the runner, one not), reads and the
 * disk work alone interleaved (a warm-up just drops them). `diskDir`: where the disk work is done.
 */
async function loop(server: RunningServer, plain: Peer, pairs: number, next: () => string, diskDir: string): Promise<ReloadFigures> {
  const agent = keepAlive(1);
  const plainAgent = keepAlive(1);
  const applied: number[] = [];
  const disk: number[] = [];
  const plainDurable: number[] = [];
  const durableUrl = plain.durableUrl;
  if (!durableUrl) throw new Error('the plain node:http peer was started without its durable route');
  const peerKey = keyCycle();
  const noWait: number[] = [];
  const waited: number[] = [];
  const read: number[] = [];
  const plainRead: number[] = [];
  try {
    for (let i = 0; i < 2 * pairs; i++) {
      if (i % 2 === 1) {
        const r = await postGraphQL(server.url, { query: QUERIES.status }, agent);
        if (r.status !== 200) throw new Error(`status read failed: HTTP ${r.status}`);
        const p = await postGraphQL(plain.url, { query: QUERIES.status }, plainAgent);
        if (p.status !== 200) throw new Error(`plain node:http read failed: HTTP ${p.status}`);
        read.push(r.ms);
        plainRead.push(p.ms);
      }
      const wait = i % 2 === 0;
      const answer = await postGraphQL(
        server.url,
        { query: wait ? QUERIES.activateAndWait : QUERIES.activate, variables: { k: next() } },
        agent,
      );
      const a = activationOf(answer);
      if (!a.ok) throw new Error(`activation refused: ${a.reason}`);
      if (wait && !answer.body.data.activateStrategy.runnerWait?.applied)
        throw new Error(`runner did not apply within 5 s: ${answer.text}`);
      (wait ? applied : noWait).push(answer.ms);
      if (wait) {
        waited.push(answer.body.data.activateStrategy.runnerWait.waitedMs);
        disk.push(timedGroupWrite(diskDir, i));
        const d = await postGraphQL(durableUrl, { query: QUERIES.activate, variables: { k: peerKey() } }, plainAgent);
        if (d.status !== 200) throw new Error(`plain node:http durable write failed: HTTP ${d.status} ${d.text.slice(0, 300)}`);
        plainDurable.push(d.ms);
      }
    }
  } finally {
    agent.destroy();
    plainAgent.destroy();
  }
  return {
    applied: summarize(applied),
    noWait: summarize(noWait),
    waited: summarize(waited),
    read: summarize(read),
    plainRead: summarize(plainRead),
    disk: summarize(disk),
    plainDurable: summarize(plainDurable),
  };
}

/** A fresh server's figures, cold and warm. */
export interface ReloadRun {
  /** The first `n` pairs after start (after 20 unrecorded requests): V8 is still compiling the hot paths. */
  cold: ReloadFigures;
  /** `n` pairs after a further `warm` unrecorded pairs: the server as it runs for hours. */
  warm: ReloadFigures;
}

/**
 * The same loop on one fresh server, twice: right after its start (cold), then after `warm` more
 * pairs (warm). A server's first seconds under load are V8's: on this 2-vCPU host its optimizing
 * compiler ran ~300 ms per second of load on a background thread for the first ~4 s, and fell to
 * ~10-30 ms per second only after ~10 s (~4,000 activations; `--trace-opt`, bench/profile.md),
 * competing with the request's own threads for the two cores. The target is judged on the warm
 * figure, a server in service; the cold one is printed beside it.
 */
async function measure(tmp: string, server: RunningServer, plain: Peer, n: number, warm: number): Promise<ReloadRun> {
  const next = keyCycle();
  // Beside the server's runtime dir, on the same file system.
  const diskDir = await groupFloorDir(tmp, 'applied-disk-');
  await loop(server, plain, 10, next, diskDir);
  const cold = await loop(server, plain, n, next, diskDir);
  await loop(server, plain, warm, next, diskDir);
  return { cold, warm: await loop(server, plain, n, next, diskDir) };
}

/**
 * The plain node:http peer, answering the status read with the bytes `server` answered it with,
 * and `POST /durable` after the group commit's disk work in a directory of its own, on a worker thread.
 */
async function plainPeer(tmp: string, server: RunningServer): Promise<Peer> {
  const [plain] = await startPeers(tmp, server, [], ['plain'], { durable: true });
  if (!plain) throw new Error('the plain node:http peer did not start');
  return plain;
}

export async function reloadEmbedded(tmp: string, n: number, warm: number): Promise<ReloadRun> {
  const server = await startServer(tmp, 'reload-embedded');
  let plain: Peer | undefined;
  try {
    await waitForRunnerRunning(server.url);
    plain = await plainPeer(tmp, server);
    return await measure(tmp, server, plain, n, warm);
  } finally {
    if (plain) await stop(plain.child);
    await stop(server.child);
  }
}

export async function reloadSeparate(tmp: string, n: number, warm: number): Promise<ReloadRun> {
  const server = await startServer(tmp, 'reload-api', { serveArgs: ['--no-runner'] });
  const runner = startRunner(tmp, 'reload-runner', server.runtimeDir);
  let plain: Peer | undefined;
  try {
    await waitForRunnerRunning(server.url);
    plain = await plainPeer(tmp, server);
    return await measure(tmp, server, plain, n, warm);
  } finally {
    if (plain) await stop(plain.child);
    // The runner writes its final state on SIGTERM; let it finish before the API goes.
    await stop(runner);
    await stop(server.child);
  }
}

/** Durable write (temp, fsync, rename, directory fsync) of a small file -> the fs.watch event naming it. */
export async function watchFloor(tmp: string, n: number): Promise<Summary> {
  const dir = await mkdtemp(path.join(tmp, 'floor-'));
  const target = path.join(dir, 'config.yaml');
  let wake: (() => void) | null = null;
  const watcher = watch(dir, (_event, file) => {
    if (file === 'config.yaml' && wake) {
      const w = wake;
      wake = null;
      w();
    }
  });
  const samples: number[] = [];
  try {
    for (let i = 0; i < n + 20; i++) {
      const seen = new Promise<void>((resolve) => (wake = resolve));
      const t0 = performance.now();
      const tmpFile = `${target}.${i}.tmp`;
      const fh = await open(tmpFile, 'w');
      await fh.writeFile(`active_strategy_key: gold\nversion: ${i}\n`);
      await fh.sync();
      await fh.close();
      await rename(tmpFile, target);
      const d = await open(dir, 'r');
      await d.sync();
      await d.close();
      await seen;
      if (i >= 20) samples.push(performance.now() - t0);
    }
  } finally {
    watcher.close();
  }
  return summarize(samples);
}

async function groupFloorDir(tmp: string, name: string): Promise<string> {
  return groupFloorDirIn(await mkdtemp(path.join(tmp, name)));
}

/**
 * What one group commit costs the disk, alone: in this process (the floor of an activation's round
 * trip), and on a worker thread asked and answered by message, as the server's file store does it
 * (its I/O thread keeps writes out of the event loop's queue under a read storm): the floor plus
 * two thread hand-offs, the wake-up of a sleeping thread among them. Interleaved, one of each in
 * turn, each in a directory of its own: measured one after the other, minutes of this shared
 * machine's disk apart, the two rows differed by up to 0.9 ms at p50, either way round, while the
 * hand-off itself costs ~0.04 ms (p99 ~0.15).
 */
export async function groupWriteFloors(tmp: string, n: number): Promise<{ inProcess: Summary; onWorker: Summary }> {
  const dir = await groupFloorDir(tmp, 'group-floor-');
  const workerDir = await groupFloorDir(tmp, 'group-worker-floor-');
  const worker = new Worker(groupWriteWorkerSource(workerDir), { eval: true });
  const inProcess: number[] = [];
  const onWorker: number[] = [];
  try {
    for (let i = 0; i < n + 20; i++) {
      const ms = timedGroupWrite(dir, i);
      if (i >= 20) inProcess.push(ms);
      const answered = once(worker, 'message');
      const t0 = performance.now();
      worker.postMessage(i);
      await answered;
      if (i >= 20) onWorker.push(performance.now() - t0);
    }
  } finally {
    await worker.terminate();
  }
  return { inProcess: summarize(inProcess), onWorker: summarize(onWorker) };
}

const fig = (s: Summary) => `p50 ${formatMs(s.p50)} / p99 ${formatMs(s.p99)} ms`;

export function reloadRows(r: {
  embedded?: ReloadRun;
  separate?: ReloadRun;
  warm?: number;
  floor?: Summary;
  groupFloor?: Summary;
  groupWorkerFloor?: Summary;
}): Row[] {
  const rows: Row[] = [];
  const detail = (f: ReloadFigures) =>
    `${fig(f.applied)}, max ${formatMs(f.applied.max)} (n=${f.applied.n}; interleaved plain activations, no wait: ${fig(f.noWait)}; ` +
    `of the round trip, commit -> applied as the server reports it (runnerWait.waitedMs, whole ms): p50 ${f.waited.p50} / p99 ${f.waited.p99}; ` +
    `interleaved cached reads on the same connection, no disk: ${fig(f.read)}; ` +
    `the same read from plain node:http returning the same bytes, interleaved on its own connection (this host's round-trip floor): ${fig(f.plainRead)}; ` +
    `one group commit's disk work alone (the floor row's calls, in the bench process), one after each waiting activation (this disk at the same moments): ${fig(f.disk)}; ` +
    `a bare node:http server answering after the same disk work on a worker thread, asked and answered by message, one request after each waiting activation on its own connection (this host's floor for a durable activation over HTTP, at the same moments): ${fig(f.plainDurable)})`;
  const after = `after ${r.warm ?? 0} more pairs unrecorded`;
  if (r.embedded)
    rows.push(
      {
        figure: `activation -> runner applied, in-process (waitForRunner round trip), warm server (${after})`,
        ours: detail(r.embedded.warm),
        target: 'p99 <= 5 ms',
        verdict: atMost(r.embedded.warm.applied.p99, 5),
      },
      {
        figure: 'activation -> runner applied, in-process, cold: the same server right after its start',
        ours: detail(r.embedded.cold),
        verdict: 'no target',
      },
    );
  if (r.separate)
    rows.push(
      {
        figure: `activation -> runner applied, separate \`stratctl runner\`, warm (${after})`,
        ours: detail(r.separate.warm),
        verdict: 'no target',
      },
      {
        figure: 'activation -> runner applied, separate `stratctl runner`, cold: right after the start',
        ours: detail(r.separate.cold),
        verdict: 'no target',
      },
    );
  if (r.groupFloor)
    rows.push({
      figure:
        "floor: one group commit's disk work alone, the server's calls (mode stat, the config held open and linked aside, temp + fsync, check read, rename, directory fsync, audit append + fsync, the second name removed, the held file closed after the timing; this disk)",
      ours: `${fig(r.groupFloor)}, max ${formatMs(r.groupFloor.max)} (n=${r.groupFloor.n})`,
      verdict: 'no target',
    });
  if (r.groupWorkerFloor)
    rows.push({
      figure:
        'floor: the same disk work on a worker thread, asked and answered by message (as the file store does it), interleaved with the row above',
      ours: `${fig(r.groupWorkerFloor)}, max ${formatMs(r.groupWorkerFloor.max)} (n=${r.groupWorkerFloor.n})`,
      verdict: 'no target',
    });
  if (r.floor)
    rows.push({
      figure: 'floor: durable file write -> fs.watch event (this disk)',
      ours: `${fig(r.floor)}, max ${formatMs(r.floor.max)} (n=${r.floor.n})`,
      verdict: 'no target',
    });
  return rows;
}
