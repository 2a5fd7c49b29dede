/**
 * `npm run bench`: issue 10's figures in one run, this server beside stock yoga, mercurius (JIT)
 * and plain node:http, each in its own process; writes the table to bench/results.md.
 * `npm run bench -- --help` for the options.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { type RunningServer, startServer } from './lib/control-plane.js';
import { keyCycle, QUERIES } from './lib/http.js';
import { endChildrenOnExit, memoryOf, ROOT, SERVER_ENV, serverCommand, stop } from './lib/processes.js';
import { atMost, type Row, tableMarkdown, tableText } from './lib/report.js';
import { formatMb } from './lib/stats.js';
import { compare, comparisonProblems, comparisonRows, type Plan } from './parts/compare.js';
import { type Peer, READ_BODIES, startPeers } from './parts/peers.js';
import { profileReads } from './parts/profile.js';
import { activationAfterQuiet, QUIET, quietRows } from './parts/quiet.js';
import { groupWriteFloors, reloadEmbedded, reloadRows, reloadSeparate, watchFloor } from './parts/reload.js';
import { coldStarts, LONG_TRAIL_LINES, startRows, stratctlRows, stratctlStatus } from './parts/start.js';
import { activationAtStormStart, activationUnderStorm, STORM_START_OFFSETS_MS, stormRows, stormStartRows } from './parts/storm.js';
import { readsByTokenSource, tokenSourceRows } from './parts/token-source.js';
import { durableWrites, writeRows } from './parts/writes.js';

/** When RSS is read again after the load, in seconds of idle. */
const RSS_SETTLE_SECONDS = [5, 10, 15] as const;
const PARTS = ['reads', 'mutation', 'writes', 'storm', 'rss', 'cli', 'token', 'reload', 'quiet', 'start', 'profile'] as const;
type Part = (typeof PARTS)[number];
const DEFAULT_PARTS = PARTS.filter((p) => p !== 'profile');

const HELP = `Usage: npm run bench [-- options]

  --only <parts>   comma-separated, from: ${PARTS.join(', ')}
                   (default: all but profile; profile = node --cpu-prof under the strategies load)
  --quick          short rounds for iteration (1 x 2 s per target, fewer samples)
  --out <file>     where the table goes (default: bench/results.md for a full run,
                   bench/results.quick.md, git-ignored, otherwise)
`;

const { values } = parseArgs({
  options: { only: { type: 'string' }, quick: { type: 'boolean' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const parts = new Set<Part>(values.only ? (values.only.split(',').map((p) => p.trim()) as Part[]) : DEFAULT_PARTS);
for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part "${p}"; parts: ${PARTS.join(', ')}`);
const quick = values.quick ?? false;
const full = !quick && !values.only;
const out = path.resolve(values.out ?? path.join(ROOT, full ? 'bench/results.md' : 'bench/results.quick.md'));

const plan: Plan = quick ? { connections: 50, duration: 2, rounds: 1, warmup: 1 } : { connections: 50, duration: 5, rounds: 3, warmup: 2 };
const sizes = quick
  ? { writeSeconds: 2, reloadN: 50, reloadWarm: 50, starts: 3, stratctl: 3, profileSeconds: 5, quietSpells: 1 }
  : { writeSeconds: 5, reloadN: 1000, reloadWarm: 1000, starts: 5, stratctl: 5, profileSeconds: 10, quietSpells: 3 };
const STORM = { activations: 30, connections: 200, startRounds: 6 };

const progress = (line: string) => process.stderr.write(`${line}\n`);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
const loadAtStart = load();
const startedAt = new Date();
const rows: Row[] = [];
const notes: string[] = [];
let profileText = '';

endChildrenOnExit();
const tmp = await mkdtemp(path.join(tmpdir(), 'scp-bench-'));
let ours: RunningServer | undefined;
let peers: Peer[] = [];
try {
  const needsMain = ['reads', 'mutation', 'writes', 'storm', 'rss', 'cli'].some((p) => parts.has(p as Part));
  if (needsMain) {
    // The storm is 200 clients' connections, but all come from 127.0.0.1: the per-address cap (64,
    // DESIGN "Limits") would close most of them, and the activation's own connection with them.
    ours = await startServer(tmp, 'ours', { serveArgs: ['--max-connections-per-client', '1024'] });
    progress(`this server: ${ours.label} serve --production at ${ours.url} (pid ${ours.child.pid})`);
  }
  const loaded: string[] = [];
  if (ours && (parts.has('reads') || parts.has('mutation'))) {
    peers = await startPeers(tmp, ours, notes);
    const targets = [
      { name: 'ours' as const, url: ours.url, pid: ours.child.pid },
      ...peers.map((p) => ({ name: p.name, url: p.url, pid: p.child.pid })),
    ];
    if (parts.has('reads')) {
      for (const name of ['strategies', 'status'] as const) {
        progress(`reads: ${name}`);
        const c = await compare(targets, { name, body: READ_BODIES[name] }, plan, progress);
        rows.push(...comparisonRows(c, `reads \`${name}\``, 'read'));
        notes.push(...comparisonProblems(c));
      }
      loaded.push('reads');
    }
    if (parts.has('mutation')) {
      progress('mutation: activateStrategy');
      const next = keyCycle();
      const body = () => JSON.stringify({ query: QUERIES.activate, variables: { k: next() } });
      const c = await compare(targets, { name: 'activateStrategy', body }, plan, progress);
      rows.push(...comparisonRows(c, 'mutation `activateStrategy`', 'mutation'));
      notes.push(...comparisonProblems(c));
      loaded.push('mutation');
    }
  }
  if (ours && parts.has('writes')) {
    progress('durable writes');
    rows.push(...writeRows(await durableWrites(ours, [1, 8, 32], sizes.writeSeconds, progress)));
    loaded.push('writes');
  }
  if (ours && parts.has('storm')) {
    progress(`activations under a ${STORM.connections}-connection read storm`);
    const stormed = await activationUnderStorm(tmp, ours, STORM.activations, STORM.connections);
    progress('the same storm on a bare node:http server (the plain peer, durable activations)');
    const [bare] = await startPeers(tmp, ours, notes, ['plain'], { durable: true });
    let bareStormed: Awaited<ReturnType<typeof activationUnderStorm>> | undefined;
    try {
      if (bare?.durableUrl)
        bareStormed = await activationUnderStorm(
          tmp,
          { url: bare.url, activationUrl: bare.durableUrl },
          STORM.activations,
          STORM.connections,
          'storm-bare.log',
        );
    } finally {
      if (bare) await stop(bare.child);
    }
    rows.push(...stormRows(stormed, STORM.connections, bareStormed));
    progress(`activations at the start of ${STORM.startRounds} ${STORM.connections}-connection read storms`);
    rows.push(...stormStartRows(await activationAtStormStart(tmp, ours, STORM.startRounds, STORM.connections), STORM.connections));
    loaded.push('storm');
  }
  // RSS right after the load, then once the server has been idle for a while: the server collects
  // its heap (compacting) after six quiet seconds, and stops its idle YAML worker thread after 10 s.
  // Both are reported; the target is judged on the settled figure.
  const afterLoad = ours && parts.has('rss') ? memoryOf(ours.child.pid) : undefined;
  if (ours && parts.has('cli')) {
    progress('stratctl status');
    rows.push(...stratctlRows(await stratctlStatus(tmp, ours.url, sizes.stratctl)));
  }
  if (ours && afterLoad) {
    const settled: number[] = [];
    if (loaded.length) {
      progress(`RSS: idle for ${RSS_SETTLE_SECONDS.at(-1)} s`);
      const since = Date.now();
      for (const at of RSS_SETTLE_SECONDS) {
        await sleep(Math.max(0, since + at * 1000 - Date.now()));
        settled.push(memoryOf(ours.child.pid).rss);
      }
    }
    const last = settled.at(-1) ?? afterLoad.rss;
    const series = settled.map((rss, i) => `${RSS_SETTLE_SECONDS[i]} s: ${formatMb(rss)}`).join(', ');
    rows.push({
      figure: `RSS of this server ${loaded.length ? `after the load (${loaded.join(', ')}), then idle` : '(idle: no load part run)'}`,
      ours: loaded.length
        ? `${formatMb(last)} after ${RSS_SETTLE_SECONDS.at(-1)} s idle (right after the load ${formatMb(afterLoad.rss)}; idle ${series}; peak ${formatMb(afterLoad.peak)})`
        : `${formatMb(afterLoad.rss)} (peak ${formatMb(afterLoad.peak)})`,
      target: '<= 100 MB',
      verdict: loaded.length ? atMost(last / 1024 / 1024, 100) : 'no target',
    });
  }
  for (const p of peers) await stop(p.child);
  peers = [];
  if (ours) await stop(ours.child);
  ours = undefined;

  if (parts.has('token')) {
    progress('reads with the admin token from admin.token and from CONTROL_PLANE_TOKEN');
    rows.push(...tokenSourceRows(await readsByTokenSource(tmp, plan, progress)));
  }
  if (parts.has('reload')) {
    progress('activation -> runner applied');
    const embedded = await reloadEmbedded(tmp, sizes.reloadN, sizes.reloadWarm);
    const separate = await reloadSeparate(tmp, sizes.reloadN, sizes.reloadWarm);
    const floor = await watchFloor(tmp, sizes.reloadN);
    const { inProcess: groupFloor, onWorker: groupWorkerFloor } = await groupWriteFloors(tmp, sizes.reloadN);
    rows.push(...reloadRows({ embedded, separate, warm: sizes.reloadWarm, floor, groupFloor, groupWorkerFloor }));
  }
  if (parts.has('quiet')) {
    progress('activation after a quiet spell');
    rows.push(...quietRows(await activationAfterQuiet(tmp, sizes.quietSpells)));
  }
  if (parts.has('start')) {
    progress('cold starts');
    rows.push(...startRows(await coldStarts(tmp, sizes.starts, progress)));
  }
  if (parts.has('profile')) {
    progress('cpu profile under the strategies load');
    profileText = await profileReads(tmp, sizes.profileSeconds, plan.connections);
  }
} finally {
  for (const p of peers) await stop(p.child);
  if (ours) await stop(ours.child);
  // A straggler's late write must not throw away the figures of a whole run.
  await rm(tmp, { recursive: true, force: true, maxRetries: 5 }).catch((err: Error) => progress(`could not remove ${tmp}: ${err.message}`));
}

const loadAtEnd = load();
const maxLoad = Math.max(...[loadAtStart, loadAtEnd].map((l) => Number(l.split(' ')[0])));
const git = (args: string[]) => {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
};
const commit = `${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', '--', 'src', 'bin', 'package.json']) ? ' (with uncommitted changes)' : ''}`;
const command = `npm run bench${values.only || quick ? ` -- ${[values.only && `--only ${values.only}`, quick && '--quick'].filter(Boolean).join(' ')}` : ''}`;
const machine = [
  `- command: \`${command}\` (${Math.round((Date.now() - startedAt.getTime()) / 1000)} s), ${startedAt.toISOString()}`,
  `- machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 1024 ** 3).toFixed(1)} GiB memory, Linux ${release()}, Node ${process.version}`,
  `- load average (1, 5, 15 min): ${loadAtStart} at start, ${loadAtEnd} at end${maxLoad > 2 ? ' — above 2: the machine was shared with other sessions and busy, so these figures are noisy; where a ratio to a peer measured in the same run is the target, trust the ratio over the absolute figures' : ''}`,
  `- code: ${commit}, this server run as \`MALLOC_MMAP_THRESHOLD_=${SERVER_ENV.MALLOC_MMAP_THRESHOLD_} ${serverCommand(['serve']).label} serve --production --max-connections-per-client 1024\` (the allocator setting and the GC flag are the ones \`npm start\`, the image and the unit use; every server here, peers included, gets the allocator setting, the GC flag is this server's own (README, "Memory"); the connection cap is raised because the read storm's 200 connections all come from 127.0.0.1, and the default per-address cap, 64, would close most of them)`,
];
const method = [
  `- reads and the mutation: autocannon (as a library, in the bench process), ${plan.connections} connections, ${plan.warmup} s unrecorded warm-up per target, then ${plan.rounds} round(s) of ${plan.duration} s, targets interleaved and the first one rotated each round; the median round (by req/s) is kept with its own p50/p99 (from every response time, not autocannon's whole-ms histogram). req/s counts 2xx answers only. "ours ÷ peer" is judged paired: each round's own ratio (ours and the peer a few seconds apart), the median of the rounds, so a slow spell of the shared machine that slows every target of one round moves no ratio; the ratio of the two median rounds (how runs before 2026-12-03 were judged) is printed beside it. "server CPU per answer": each server process's own CPU time (user + system, from /proc) over a round divided by the answers it gave, the median of its rounds: steadier than req/s on a shared machine, since the load generator competes for the same cores.`,
  '- peers, each in its own process: stock graphql-yoga 5 (`createSchema` from the printed `schema.graphql`, no plugins), fastify 5 + mercurius 16 (`jit: 1`) on the same SDL, plain `node:http` answering each read with the exact bytes this server answered (looked up by the request body). Their data is captured from this server at the start and checked equal before any load. The mutation on the peers is a trivial in-memory swap (nothing durable), so its ratios show the cost of durability plus the pipeline, not a like-for-like.',
  `- admin token source: two fresh servers, the admin token in CONTROL_PLANE_TOKEN (as in every other row) and in the runtime dir's admin.token (npm start's default, followed while the server runs), \`strategies\` reads carrying it, ${plan.warmup} s unrecorded warm-up each, then ${plan.rounds} rounds of ${plan.duration} s, interleaved; the ratio is the median of the rounds' own ratios.`,
  `- durable writes: N writers, each looping real \`activateStrategy\` mutations on its own keep-alive connection for ${sizes.writeSeconds} s, keys alternating; "verified" = the config version grew by exactly the number of distinct versions answered, and audit.log by as many lines, with no refusal.`,
  `- storm: ${STORM.activations} activations on a new connection each (like \`stratctl activate\`) and ${STORM.activations} on one keep-alive connection opened before, alternating, one after another, while a separate process holds ${STORM.connections} autocannon connections reading \`strategies\`; the same on the quiet server first; then the same storm and activations on a bare node:http server (the plain peer, each activation a \`POST /durable\` answered after the group commit's disk work on a worker thread): a reference, no target. Then ${STORM.startRounds} storms, each started anew (${STORM.connections} connections opened at once, 1 s apart): in each, activations on new connections ${STORM_START_OFFSETS_MS.join(', ')} ms after the storm's start (concurrently) and one on a keep-alive connection opened before, ${STORM_START_OFFSETS_MS[2]} ms in. No target: this figure is the accept queue, see bench/README.md.`,
  `- activation -> applied: ${sizes.reloadN} \`activateStrategy(waitForRunner: true)\` round trips (the answer comes once the runner reports the version applied), interleaved with ${sizes.reloadN} plain activations, on a fresh embedded-runner server and on \`serve --no-runner\` + \`stratctl runner\`, each measured twice: cold (right after its start, after 20 unrecorded requests: V8 still compiling the hot paths, as in the runs before this row was split) and warm (after ${sizes.reloadWarm} more pairs unrecorded: a server in service; the target is judged on it); round trips include HTTP and the durable write; a cached \`status\` read is interleaved on the same connection (HTTP without disk), and the same read from plain node:http (a peer returning the same bytes) on a connection of its own (the host's floor for one round trip), and after each waiting activation the bench process does one group commit's disk work alone (the floor row's calls, on the same file system: the disk's share at the same moments, printed in the row), then sends one request to the plain node:http peer, which answers it after the same disk work on a worker thread asked by message (as the file store's I/O thread is): the host's floor for a durable activation over HTTP at the same moments, printed in the row; the floor rows time the disk work alone in the bench process too (the group commit's on this thread and on a worker, interleaved), apart from any server.`,
  `- activation after a quiet spell: a fresh server, ${sizes.quietSpells} times ${QUIET.burstSeconds} s of \`strategies\` reads (50 connections), then ${QUIET.quietSeconds} s with no request (the server gives memory back six quiet seconds after a busy one: a compacting collection, the file store's I/O thread let go), then two activations, each on a new connection; no target (the operator's case: one activation by hand on a server that has been quiet).`,
  `- cold start: spawn -> first \`/health\` 200 (polled every 2 ms), fresh runtime dir each time, direct and \`npm start\` interleaved, ${sizes.starts} each, with a bare node:http server's start between them (the host's floor for a Node server, timed the same way: absolute times move with this shared host, the floor with them); the long-trail start is the direct one on a copy of a runtime dir a server left after a preset change and three activations, its audit.log then grown to ${LONG_TRAIL_LINES.toLocaleString('en-US')} lines (copies of the activation's line, the preset change kept in the first lines, the last line the config in force, so the start writes nothing), its peak RSS (VmHWM) read at the first \`/health\` 200. \`stratctl status\`: \`node bin/stratctl.js status\` spawn -> exit, ${sizes.stratctl} times, each followed by a bare node process POSTing the same query with node:http (the floor). RSS: VmRSS from /proc right after the load parts, then after ${RSS_SETTLE_SECONDS.join(', ')} s with no load (the \`stratctl status\` runs come first); the target is judged on the last, the figure a server holds between bursts (it gives back the young generation and old-generation slack grown under load with one compacting collection after six quiet seconds; its YAML worker thread stops after 10 s idle). VmHWM is the peak.`,
];
const table = tableMarkdown(rows);
const doc = [
  '# `npm run bench` — results',
  '',
  ...machine,
  '',
  table,
  ...(notes.length ? ['Notes from this run:', '', ...notes.map((n) => `- ${n}`), ''] : []),
  '## How each figure is measured',
  '',
  ...method,
  '',
  ...(profileText ? ['## CPU profile', '', profileText] : []),
].join('\n');
await writeFile(out, doc);
process.stdout.write(
  `\n${machine.join('\n')}\n\n${tableText(rows)}${notes.length ? `\n${notes.map((n) => `note: ${n}`).join('\n')}\n` : ''}\nwritten to ${path.relative(ROOT, out)}\n`,
);
if (profileText) process.stdout.write(`\n${profileText}\n`);
process.exit(0);
