import { execFileSync } from 'node:child_process';
import { appendFile, chmod, chown, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import type { Socket } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { createToken, revokeToken } from '../../../src/auth/token-file.js';
import { parseAuditEntry } from '../../../src/config/audit-entry.js';
import { type HostileRequest, hostileRequest } from '../hostile-arbitraries.js';
import { type Answer, attackerAddress, forDuration, openSocket, send, sendRaw } from './client.js';
import type { HealthFigures } from './prober.js';

/** What one attack did and what the server made of it. */
export interface AttackStats {
  attack: string;
  /** Inputs sent (requests, connections, file replacements, streams). */
  tried: number;
  /** Answered 2xx (or, for connections and streams, kept open to the end). */
  accepted: number;
  /** Answered 4xx, or closed by a cap. */
  refused: number;
  /** Answered 5xx (must be 0: not even a masked one is expected from these inputs). */
  server5xx: number;
  /** No answer (a connection closed by a cap, a client-side timeout). */
  noAnswer: number;
  /** The server process exited during the attack (must be 0). */
  crashes: number;
  /** Config versions added to the audit trail during the attack (the changes the server accepted). */
  filesChanged: number;
  /** `/health` while the attack ran. */
  health?: HealthFigures;
  /** Anything the attack checks beyond the counts (leaks, writes over an invalid file, streams not ended). */
  violations: string[];
  notes: Record<string, number | string>;
}

export interface Target {
  origin: string;
  url: string;
  token: string;
  runtimeDir: string;
  /** Whether the server process is still running. */
  alive(): boolean;
}

export interface AttackSize {
  durationMs: number;
  loops: number;
  /** Idle sockets of the connection flood. */
  floodSockets: number;
  /** Named tokens revoked under open streams. */
  revocations: number;
}

const STACK = /\n\s+at \S|\(\/[^)]*:\d+:\d+\)|node_modules|file:\/\//;

function newStats(attack: string): AttackStats {
  return { attack, tried: 0, accepted: 0, refused: 0, server5xx: 0, noAnswer: 0, crashes: 0, filesChanged: 0, violations: [], notes: {} };
}

function count(stats: AttackStats, target: Target, answer: Answer, what: string): void {
  stats.tried += 1;
  if (answer.status >= 500) {
    stats.server5xx += 1;
    stats.violations.push(`5xx (${answer.status}) for ${what}: ${answer.body.slice(0, 200)}`);
  } else if (answer.status >= 400) stats.refused += 1;
  else if (answer.status >= 200) stats.accepted += 1;
  else stats.noAnswer += 1;
  const leaked = answer.body.includes(target.token) || answer.body.includes(target.runtimeDir) || STACK.test(answer.body);
  if (leaked || answer.body.includes('originalError')) stats.violations.push(`leak in the answer to ${what}: ${answer.body.slice(0, 200)}`);
}

async function auditVersions(runtimeDir: string): Promise<number[]> {
  const text = await readFile(path.join(runtimeDir, 'audit.log'), 'utf8').catch(() => '');
  return text
    .split('\n')
    .map((line) => parseAuditEntry(line))
    .flatMap((entry) => (entry && entry.subject === 'CONFIG' ? [entry.version] : []));
}

/** Runs one attack and fills in what every attack reports: files changed, crashes, audit order. */
export async function measured(target: Target, attack: string, run: (stats: AttackStats) => Promise<void>): Promise<AttackStats> {
  const stats = newStats(attack);
  const before = await auditVersions(target.runtimeDir);
  await run(stats);
  const after = await auditVersions(target.runtimeDir);
  stats.filesChanged = after.length - before.length;
  for (let i = 1; i < after.length; i++) {
    if (after[i]! <= after[i - 1]!) stats.violations.push(`audit versions out of order: ${after[i - 1]} then ${after[i]}`);
  }
  if (!target.alive()) {
    stats.crashes += 1;
    stats.violations.push('the server process exited');
  }
  return stats;
}

const ENTRY = '{ time actor operation version digest changes { field before after } config { activeStrategyKey tunableOverrides } }';
/** Finding 1's query, with the list size in a variable. */
const costBypass = fc
  .record({ aliases: fc.integer({ min: 1, max: 15 }), n: fc.oneof(fc.integer({ min: 0, max: 120 }), fc.integer({ min: 0, max: 5_000 })) })
  .map(({ aliases, n }) => ({
    query: `query Q($n: Int) { ${Array.from({ length: aliases }, (_, i) => `a${i}: auditLog(last: $n) ${ENTRY}`).join(' ')} }`,
    variables: { n },
  }));

/** Generated GraphQL documents, variables and bodies (hostile-arbitraries.ts) plus the cost bypass, anonymous and with a token. */
export async function documents(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'documents and variables', async (stats) => {
    const requests = fc.sample(hostileRequest, { numRuns: 3_000, seed: 1401 });
    const bypasses = fc.sample(fc.tuple(costBypass, fc.boolean()), { numRuns: 500, seed: 1402 });
    let next = 0;
    await forDuration(size.durationMs, size.loops, async (loop, i) => {
      const n = next++;
      const localAddress = attackerAddress(2, n);
      if (n % 4 === 0) {
        const [{ query, variables }, withToken] = bypasses[n % bypasses.length]!;
        const body = JSON.stringify({ query, variables });
        const answer = await send(target.origin, {
          localAddress,
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(withToken && { authorization: `Bearer ${target.token}` }) },
          body,
        });
        count(stats, target, answer, `cost bypass ${body.slice(0, 120)}`);
        if (answer.status === 200 && Buffer.byteLength(answer.body) > 1024 * 1024) stats.violations.push('an answer over 1 MiB');
        return;
      }
      const req: HostileRequest = requests[(loop * 7919 + i + n) % requests.length]!;
      const headers: Record<string, string> = { accept: 'application/graphql-response+json, application/json' };
      if (req.contentType) headers['content-type'] = req.contentType;
      if (req.auth === 'admin') headers.authorization = `Bearer ${target.token}`;
      else if (req.auth === 'wrong') headers.authorization = 'Bearer wrong-token-0123456789abcdef';
      else if (req.auth !== 'none') headers.authorization = req.auth.header;
      const answer = await send(target.origin, {
        localAddress,
        method: req.method,
        path: req.path + req.search,
        headers,
        ...(req.body !== null && { body: req.body }),
      });
      count(stats, target, answer, `${req.method} ${req.path} ${(req.body ?? req.search).slice(0, 120)}`);
    });
  });
}

/** Generated Host headers and request targets over raw connections. */
export async function hostsAndTargets(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'Host headers and targets', async (stats) => {
    const printable = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
    const host = fc.oneof(
      printable,
      fc.constantFrom('[', 'a b', 'x:99999', ':8787', 'attacker.example', 'localhost', '[::1]', '127.0.0.1:1'),
    );
    const path = fc.oneof(
      printable.map((p) => `/${p}`),
      printable,
      fc.constantFrom('*', '//graphql', 'http://127.0.0.1/health', '/graphql?query=%7B', `/${'a'.repeat(8_000)}`),
    );
    const samples = fc.sample(fc.tuple(host, path, fc.constantFrom('GET', 'POST', 'HEAD', 'OPTIONS', 'PUT')), {
      numRuns: 2_000,
      seed: 1403,
    });
    let next = 0;
    await forDuration(size.durationMs, size.loops, async () => {
      const n = next++;
      const [h, t, method] = samples[n % samples.length]!;
      const answer = await sendRaw(
        target.origin,
        attackerAddress(3, n),
        `${method} ${t} HTTP/1.1\r\nHost: ${h}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      );
      count(stats, target, answer, `${method} ${t.slice(0, 60)} Host: ${h}`);
      if (answer.status >= 400 && method !== 'HEAD' && answer.body && !answer.body.trimStart().startsWith('{')) {
        stats.violations.push(`a refusal not answered as JSON: ${answer.status} ${answer.body.slice(0, 100)}`);
      }
    });
  });
}

/** Bodies and encodings: gzip bombs, oversize chunked bodies, unknown codings, broken gzip, oversize headers, abandoned bodies. */
export async function bodies(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'bodies and encodings', async (stats) => {
    const query = JSON.stringify({ query: '{ status { configVersion } }' });
    const bomb = gzipSync(Buffer.concat([Buffer.from(query.slice(0, -1)), Buffer.alloc(20 * 1024 * 1024, 0x20), Buffer.from('}')]));
    const big = Buffer.alloc(300 * 1024, 0x20);
    const chunkedBody = (body: Buffer) =>
      Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
    const head = (pathname: string, extra: string) =>
      `POST ${pathname} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAuthorization: Bearer ${target.token}\r\n${extra}Connection: close\r\n\r\n`;
    const kinds = [
      () => Buffer.concat([Buffer.from(head('/graphql', `Content-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n`)), bomb]),
      () => Buffer.concat([Buffer.from(head('/api/config', 'Transfer-Encoding: chunked\r\n')), chunkedBody(big)]),
      () => Buffer.concat([Buffer.from(head('/api/strategy/activate', `Content-Length: ${big.length}\r\n`)), big]),
      () => Buffer.concat([Buffer.from(head('/graphql', 'Content-Encoding: br\r\nContent-Length: 2\r\n')), Buffer.from('{}')]),
      () => Buffer.concat([Buffer.from(head('/graphql', 'Content-Encoding: gzip, gzip\r\nContent-Length: 2\r\n')), Buffer.from('{}')]),
      () => Buffer.concat([Buffer.from(head('/graphql', 'Content-Encoding: gzip\r\nContent-Length: 9\r\n')), Buffer.from('not gzip!')]),
      () => Buffer.from(head('/graphql', `X-Pad: ${'x'.repeat(20_000)}\r\nContent-Length: 0\r\n`)),
      () => Buffer.concat([Buffer.from(head('/graphql', `Content-Length: ${query.length}\r\n`)), Buffer.from(query)]),
    ];
    let next = 0;
    let abandoned = 0;
    await forDuration(size.durationMs, size.loops, async (loop) => {
      const n = next++;
      if (loop === 0 && n % 10 === 0) {
        // A body promised and never finished: the client goes away (logged at DEBUG, nothing answered).
        const socket = await openSocket(target.origin, attackerAddress(4, n), `${head('/api/config', 'Content-Length: 5000\r\n')}{"scan_`);
        await sleep(50);
        socket.destroy();
        abandoned += 1;
        return;
      }
      const kind = n % kinds.length;
      const answer = await sendRaw(target.origin, attackerAddress(4, n), kinds[kind]!());
      count(stats, target, answer, `body kind ${kind}`);
      if (kind <= 2 && answer.status !== 413)
        stats.violations.push(`body kind ${kind} answered ${answer.status}, not 413 (${answer.error ?? ''})`);
    });
    stats.notes.abandonedBodies = abandoned;
  });
}

type FileKind =
  | 'fifo'
  | 'directory'
  | 'symlink'
  | 'oversize'
  | 'many-keys'
  | 'duplicate-keys'
  | 'invalid'
  | 'valid'
  | 'tokens-writable'
  | 'tokens-foreign'
  | 'torn-audit';

/** Many shared holders or one exclusive holder at a time (exclusive waits for the shared ones to leave). */
function readersWriter() {
  let shared = 0;
  let exclusive = false;
  const waiters: (() => void)[] = [];
  const wake = () => {
    for (const w of waiters.splice(0)) w();
  };
  return {
    async shared(): Promise<() => void> {
      while (exclusive) await new Promise<void>((r) => waiters.push(r));
      shared += 1;
      return () => {
        shared -= 1;
        wake();
      };
    },
    async exclusive(): Promise<() => void> {
      while (exclusive) await new Promise<void>((r) => waiters.push(r));
      exclusive = true;
      while (shared > 0) await new Promise<void>((r) => waiters.push(r));
      return () => {
        exclusive = false;
        wake();
      };
    },
  };
}

/** Runtime files replaced under a live server: config.yaml, tokens.yaml and audit.log, while writes and reads go on. */
export async function runtimeFiles(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'runtime files', async (stats) => {
    const config = path.join(target.runtimeDir, 'config.yaml');
    const tokens = path.join(target.runtimeDir, 'tokens.yaml');
    const valid = (key: string, version: number) =>
      `active_strategy_key: ${key}\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: ${version}\nupdated_at: 2026-11-28T00:00:00Z\n`;
    const named = await createToken(target.runtimeDir, `probe-${Date.now()}`, 'read');
    const kinds = fc.sample(
      fc.constantFrom<FileKind>(
        'fifo',
        'directory',
        'symlink',
        'oversize',
        'many-keys',
        'duplicate-keys',
        'invalid',
        'valid',
        'tokens-writable',
        'tokens-foreign',
        'torn-audit',
      ),
      { numRuns: 500, seed: 1404 },
    );
    const end = Date.now() + size.durationMs;
    let writtenOver = 0;
    // A file replaced while a write is between its read and its rename is a race no rename-based
    // store can win (the write answers 503 or the edit is replaced): replacements wait for writes in
    // flight, and writes wait for a replacement in progress, so each write meets one file.
    const gate = readersWriter();
    const replace = async () => {
      for (let n = 0; Date.now() < end; n++) {
        const kind = kinds[n % kinds.length]!;
        let invalidContent: Buffer | null = null;
        const release = await gate.exclusive();
        if (['fifo', 'directory', 'symlink', 'oversize', 'many-keys', 'duplicate-keys', 'invalid', 'valid'].includes(kind)) {
          await rm(config, { recursive: true, force: true });
        }
        // A write through the API may put config.yaml back between the rm and the replacement (a missing
        // file is written again by the next change): replace it until the replacement is what is there.
        const put = async (make: () => Promise<unknown>) => {
          for (let attempt = 0; attempt < 20; attempt++) {
            try {
              await make();
              return;
            } catch {
              await rm(config, { recursive: true, force: true });
            }
          }
        };
        switch (kind) {
          case 'fifo':
            await put(async () => execFileSync('mkfifo', [config], { stdio: 'ignore' }));
            break;
          case 'directory':
            await put(() => mkdir(config));
            break;
          case 'symlink':
            await put(() => symlink('/etc/hostname', config));
            break;
          case 'oversize':
            invalidContent = Buffer.from(`${valid('gold', 2)}# ${'x'.repeat(1_100_000)}\n`);
            break;
          case 'many-keys':
            invalidContent = Buffer.from(Array.from({ length: 10_000 }, (_, i) => `k${i}: ${i}`).join('\n'));
            break;
          case 'duplicate-keys':
            invalidContent = Buffer.from(`${valid('gold', 2)}active_strategy_key: range\n`);
            break;
          case 'invalid':
            invalidContent = Buffer.from(`active_strategy_key: [${'['.repeat(n % 500)}\n`);
            break;
          case 'valid':
            await writeFile(config, valid(['gold', 'range', 'momentum'][n % 3]!, 1 + (n % 5)));
            break;
          case 'tokens-writable':
            await chmod(tokens, n % 2 ? 0o666 : 0o600).catch(() => {});
            break;
          case 'tokens-foreign':
            await chown(tokens, n % 2 ? 65534 : 0, n % 2 ? 65534 : 0).catch(() => {});
            break;
          case 'torn-audit':
            await appendFile(path.join(target.runtimeDir, 'audit.log'), '{"time":"2026-');
            break;
        }
        if (invalidContent) await writeFile(config, invalidContent);
        release();
        stats.tried += 1;
        await sleep(150);
        // The server never writes over a file it refused.
        if (invalidContent) {
          const now = await readFile(config).catch(() => null);
          if (!now?.equals(invalidContent)) writtenOver += 1;
        }
      }
    };
    const traffic = forDuration(size.durationMs, size.loops, async (loop, i) => {
      // A new address each time: reads with the named token are 401 while tokens.yaml is refused, and
      // the failed-auth limit would lock one address out of the writes too.
      const localAddress = attackerAddress(5, loop * 1_000 + i);
      const release = i % 2 ? await gate.shared() : () => {};
      const answer =
        i % 2
          ? await send(target.origin, {
              localAddress,
              method: 'POST',
              headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
              body: JSON.stringify({
                query: `mutation { activateStrategy(strategyKey: "${['gold', 'range'][(i % 4) >> 1]}") { configVersion } }`,
              }),
            })
          : await send(target.origin, { localAddress, path: '/api/status', headers: { authorization: `Bearer ${named}` } });
      release();
      count(stats, target, answer, 'a write or a read during file replacement');
      if (answer.status === 409) stats.notes.refusedWhileInvalid = Number(stats.notes.refusedWhileInvalid ?? 0) + 1;
    });
    await Promise.all([replace(), traffic]);
    // Put everything right: the server recovers from the last good state.
    await rm(config, { recursive: true, force: true });
    await writeFile(config, valid('momentum', 1));
    await chown(tokens, 0, 0).catch(() => {});
    await chmod(tokens, 0o600).catch(() => {});
    let recovered = false;
    for (let attempt = 0; attempt < 50 && !recovered; attempt++) {
      await sleep(100);
      const answer = await send(target.origin, {
        localAddress: attackerAddress(5, 200),
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
        body: JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "eur_usd_5m_safe") { configVersion } }' }),
      });
      recovered = answer.status === 200;
    }
    if (!recovered) stats.violations.push('the server did not accept a change after the files were put right');
    if (writtenOver > 0) stats.violations.push(`the server wrote over a refused config.yaml ${writtenOver} times`);
    stats.notes.writtenOverRefusedFile = writtenOver;
  });
}

/** Thousands of idle connections and half-sent headers from many addresses, while writes go on. */
export async function connectionFlood(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'connection flood', async (stats) => {
    const sockets: Socket[] = [];
    let closedByServer = 0;
    const end = Date.now() + size.durationMs;
    const flood = (async () => {
      for (let n = 0; n < size.floodSockets && Date.now() < end; n++) {
        // 60 groups of addresses: the total cap is reached well before any one address's.
        const localAddress = `127.0.${10 + (n % 60)}.${2 + (Math.floor(n / 60) % 250)}`;
        const partial = n % 10 === 0 ? 'GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n' : '';
        const socket = await openSocket(target.origin, localAddress, partial);
        stats.tried += 1;
        socket.once('close', () => {
          closedByServer += 1;
        });
        sockets.push(socket);
      }
    })();
    // Writes go on through the flood, at an operator's pace: they check the server still works, they are not the attack.
    const traffic = forDuration(size.durationMs, 2, async (loop, i) => {
      await sleep(100);
      const answer = await send(target.origin, {
        localAddress: attackerAddress(5, 10 + loop),
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
        body: JSON.stringify({
          query: `mutation { updateConfig(input: { scanIntervalSeconds: ${10 + (i % 50)} }) { config { version } } }`,
        }),
      });
      if (answer.status !== 200) stats.violations.push(`a write during the flood answered ${answer.status} ${answer.error ?? ''}`);
      stats.notes.writesDuringFlood = Number(stats.notes.writesDuringFlood ?? 0) + 1;
    });
    await Promise.all([flood, traffic]);
    stats.refused = closedByServer;
    stats.accepted = stats.tried - closedByServer;
    stats.notes.openAtEnd = stats.accepted;
    for (const s of sockets) s.destroy();
  });
}

/** Subscribers that never read, over the per-client cap, while changes keep coming. */
export async function slowReaders(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'slow readers', async (stats) => {
    const fat = `subscription { statusChanged { ${Array.from({ length: 15 }, (_, i) => `a${i}: activeStrategy { description tunableDefinitions { name description } }`).join(' ')} } }`;
    const body = JSON.stringify({ query: fat });
    const sockets: Socket[] = [];
    let cut = 0;
    for (let n = 0; n < 8 * 17; n++) {
      const socket = await openSocket(
        target.origin,
        attackerAddress(7, n % 8),
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      stats.tried += 1;
      const first = await new Promise<string>((resolve) => {
        socket.once('data', (d) => resolve(String(d)));
        socket.once('close', () => resolve(''));
      });
      socket.pause(); // never read again
      if (first.startsWith('HTTP/1.1 200')) {
        stats.accepted += 1;
        socket.once('close', () => {
          cut += 1;
        });
      } else if (first.startsWith('HTTP/1.1 429')) stats.refused += 1;
      else stats.noAnswer += 1;
      sockets.push(socket);
    }
    // Changes at a busy operator's pace (two a second, beside the runner's heartbeats; an attacker
    // without a token cannot make any): each one fans out to every open stream.
    await forDuration(size.durationMs, 1, async (_loop, i) => {
      await sleep(500);
      const answer = await send(target.origin, {
        localAddress: attackerAddress(5, 20),
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${target.token}` },
        body: JSON.stringify({
          query: `mutation { activateStrategy(strategyKey: "${['gold', 'range', 'momentum'][i % 3]}") { configVersion } }`,
        }),
      });
      if (answer.status !== 200) stats.violations.push(`an activation during the slow readers answered ${answer.status}`);
      stats.notes.events = i + 1;
    });
    stats.notes.streamsCutByServer = cut;
    for (const s of sockets) s.destroy();
  });
}

/** Named tokens revoked while their subscriptions are open: each stream must end with UNAUTHENTICATED. */
export async function tokenRevocation(target: Target, size: AttackSize): Promise<AttackStats> {
  return measured(target, 'token revocation', async (stats) => {
    const latencies: number[] = [];
    const body = JSON.stringify({ query: 'subscription { statusChanged { configVersion } }' });
    for (let n = 0; n < size.revocations; n++) {
      const name = `revoked-${Date.now()}-${n}`;
      const token = await createToken(target.runtimeDir, name, 'read');
      const socket = await openSocket(
        target.origin,
        attackerAddress(8, n),
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      let received = '';
      const ended = new Promise<void>((resolve) => {
        socket.on('data', (d) => {
          received += d;
          if (received.includes('event: complete')) resolve();
        });
        socket.once('close', () => resolve());
      });
      await new Promise<void>((resolve) => {
        const check = () => received.includes(':\n\n') && resolve();
        socket.on('data', check);
        socket.once('close', () => resolve());
      });
      stats.tried += 1;
      const start = Date.now();
      await revokeToken(target.runtimeDir, name);
      const timeout = sleep(5_000).then(() => 'timeout' as const);
      const outcome = await Promise.race([ended.then(() => 'ended' as const), timeout]);
      const ms = Date.now() - start;
      if (outcome === 'ended' && received.includes('"UNAUTHENTICATED"')) {
        stats.accepted += 1;
        latencies.push(ms);
        if (ms > 1_000) stats.violations.push(`a revoked token's stream ended after ${ms} ms`);
      } else stats.violations.push(`a revoked token's stream did not end with UNAUTHENTICATED (${outcome})`);
      socket.destroy();
    }
    latencies.sort((a, b) => a - b);
    stats.notes.revokedStreamEndP50Ms = latencies[Math.floor(latencies.length / 2)] ?? 0;
    stats.notes.revokedStreamEndMaxMs = latencies.at(-1) ?? 0;
  });
}

export const ATTACKS = { documents, hostsAndTargets, bodies, runtimeFiles, connectionFlood, slowReaders, tokenRevocation } as const;
