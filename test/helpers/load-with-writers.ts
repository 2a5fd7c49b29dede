import { readFile } from 'node:fs/promises';
import { Agent, request } from 'node:http';
import path from 'node:path';
import { defaultRegistry } from '../../src/registry/index.js';

const READ = '{ status { activeStrategyKey configVersion activeStrategy { key } } }';
const ACTIVATE = 'mutation($k: String!) { activateStrategy(strategyKey: $k) { activeStrategyKey configVersion changed } }';

export interface LoadOptions {
  url: string;
  token: string;
  runtimeDir: string;
  readers: number;
  writers: number;
  durationMs: number;
}

export interface LoadResult {
  reads: number;
  failedReads: number;
  /** Reads whose state was not valid (unknown key, or status disagreeing with itself). */
  invalidReads: number;
  /** Distinct versions the readers saw (more than one: reads really overlapped writes). */
  versionsSeen: number;
  /** Readers whose read after the last write did not see it (must be 0). */
  staleFinalReads: number;
  /** Reads that saw a lower version than the same reader saw before. */
  versionRegressions: number;
  writes: number;
  acceptedWrites: number;
  failedWrites: number;
  /** Versions answered to writers that were answered twice (must be 0: each accepted write gets its own). */
  duplicateWriteVersions: number;
  /**
   * Activations of the strategy already in force (two writers asking for the same key in a row, or in
   * one group commit): answered `changed: false` with the version in force, nothing written (DESIGN: no-ops).
   */
  noOpWrites: number;
  versionBefore: number;
  versionAfter: number;
  /** New lines in <runtime-dir>/audit.log, or null when there is no audit log. */
  auditLinesAdded: number | null;
  /** Slowest answer seen, in ms (reads and writes). */
  maxReadMs: number;
  maxWriteMs: number;
  firstFailures: string[];
}

async function auditLines(runtimeDir: string): Promise<number | null> {
  try {
    const text = await readFile(path.join(runtimeDir, 'audit.log'), 'utf8');
    return text.split('\n').filter((l) => l.trim() !== '').length;
  } catch {
    return null;
  }
}

/**
 * `readers` loops read the status while `writers` loops activate strategies, for `durationMs`, each on
 * its own connection; each reader reads once more after the last write. Counts what the load test asserts: failed and invalid reads, per-reader version
 * order, accepted writes against the version delta and the audit log.
 */
export async function runLoadWithWriters(options: LoadOptions): Promise<LoadResult> {
  // One kept-alive connection per loop, as that many separate clients would have, opened before the
  // clock starts: a saturated server is slow to accept new connections, which is not what is measured.
  const agents: Agent[] = [];
  const client = () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    return (query: string, variables?: Record<string, unknown>, token?: string) => post(agent, query, variables, token);
  };
  const post = (agent: Agent, query: string, variables?: Record<string, unknown>, token?: string) =>
    new Promise<{ status: number; body: { data?: any; errors?: { message: string }[] } }>((resolve, reject) => {
      const payload = JSON.stringify({ query, variables });
      const req = request(
        options.url,
        {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(payload),
            ...(token && { authorization: `Bearer ${token}` }),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
          });
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
            } catch (err) {
              reject(new Error(`HTTP ${res.statusCode}, not JSON: ${text.slice(0, 200)}`, { cause: err }));
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const result: LoadResult = {
    reads: 0,
    failedReads: 0,
    invalidReads: 0,
    versionRegressions: 0,
    versionsSeen: 0,
    staleFinalReads: 0,
    writes: 0,
    acceptedWrites: 0,
    failedWrites: 0,
    duplicateWriteVersions: 0,
    noOpWrites: 0,
    versionBefore: 0,
    versionAfter: 0,
    auditLinesAdded: null,
    maxReadMs: 0,
    maxWriteMs: 0,
    firstFailures: [],
  };
  const note = (what: string) => {
    if (result.firstFailures.length < 10) result.firstFailures.push(what);
  };

  const auditBefore = await auditLines(options.runtimeDir);
  const readerClients = Array.from({ length: options.readers }, client);
  const writerClients = Array.from({ length: options.writers }, client);
  const control = client();
  await Promise.all([...readerClients, ...writerClients].map((send) => send(READ)));
  result.versionBefore = (await control(READ)).body.data.status.configVersion;
  const deadline = performance.now() + options.durationMs;
  const writeVersions = new Set<number>();
  const seen = new Set<number>();
  const lastReads: number[] = [];
  const keys = defaultRegistry.keys;

  let writersDone: Promise<unknown> = Promise.resolve();
  const reader = async (post: ReturnType<typeof client>) => {
    let last = 0;
    // Read until the deadline, then once more after the writers are done: that read must see the last write.
    let final = false;
    while (!final) {
      if (performance.now() >= deadline) {
        await writersDone;
        final = true;
      }
      result.reads += 1;
      try {
        const started = performance.now();
        const { status, body } = await post(READ);
        result.maxReadMs = Math.max(result.maxReadMs, Math.round(performance.now() - started));
        const s = body.data?.status;
        if (status !== 200 || body.errors || !s) {
          result.failedReads += 1;
          note(`read HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`);
          continue;
        }
        if (!defaultRegistry.has(s.activeStrategyKey) || s.activeStrategy.key !== s.activeStrategyKey || !(s.configVersion >= 1)) {
          result.invalidReads += 1;
          note(`invalid state: ${JSON.stringify(s)}`);
        }
        if (s.configVersion < last) {
          result.versionRegressions += 1;
          note(`version went back from ${last} to ${s.configVersion}`);
        }
        last = s.configVersion;
        seen.add(s.configVersion);
        if (final) lastReads.push(s.configVersion);
      } catch (err) {
        result.failedReads += 1;
        note(`read threw: ${(err as Error).message} ${String((err as Error).cause ?? '')}`);
      }
    }
  };
  const writer = async (post: ReturnType<typeof client>, w: number) => {
    let i = w;
    while (performance.now() < deadline) {
      result.writes += 1;
      i += 1;
      try {
        const started = performance.now();
        const { status, body } = await post(ACTIVATE, { k: keys[i % keys.length] }, options.token);
        result.maxWriteMs = Math.max(result.maxWriteMs, Math.round(performance.now() - started));
        const version = body.data?.activateStrategy?.configVersion;
        if (status === 200 && !body.errors && typeof version === 'number' && body.data?.activateStrategy?.changed === false) {
          result.noOpWrites += 1;
        } else if (status === 200 && !body.errors && typeof version === 'number') {
          result.acceptedWrites += 1;
          if (writeVersions.has(version)) result.duplicateWriteVersions += 1;
          writeVersions.add(version);
        } else {
          result.failedWrites += 1;
          note(`write HTTP ${status}: ${JSON.stringify(body).slice(0, 200)}`);
        }
      } catch (err) {
        result.failedWrites += 1;
        note(`write threw: ${(err as Error).message}`);
      }
    }
  };

  writersDone = Promise.all(writerClients.map((send, w) => writer(send, w)));
  await Promise.all([writersDone, ...readerClients.map((send) => reader(send))]);
  result.versionsSeen = seen.size;
  result.versionAfter = (await control(READ)).body.data.status.configVersion;
  result.staleFinalReads = lastReads.filter((v) => v !== result.versionAfter).length;
  const auditAfter = await auditLines(options.runtimeDir);
  result.auditLinesAdded = auditAfter === null ? null : auditAfter - (auditBefore ?? 0);
  for (const agent of agents) agent.destroy();
  return result;
}
