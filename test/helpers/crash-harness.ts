import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'vitest';
import { digestOf } from '../../src/config/file-store.js';
import { parseConfigFile } from '../../src/config/yaml-document.js';
import { defaultRegistry } from '../../src/registry/index.js';
import { LISTENING, spawnStratctl } from './server.js';

export interface CrashFigures {
  kills: number;
  answeredWrites: number;
  refusedWrites: number;
  tornLinesSetAside: number;
  recoveryLines: number;
  filesCorrupted: number;
  /** Temp files found right after a kill (a write cut short); the next start removes them. */
  tempFilesAfterKills: number;
  /**
   * Kills that came in the moment a write had taken config.yaml away to judge it (replaceChecked:
   * renamed to its aside name, the new file not linked in yet): the file was checked under its
   * aside name, which the next start puts back before it reads.
   */
  takenAwayAtKills: number;
  /** Temp files left at the end, after the last restart: must be 0. */
  strayTempFiles: number;
  finalVersion: number;
}

const CRASH_TOKEN = 'crash-test-admin-token-0123456789';
const KEYS = ['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2'];
const LOOPS = 4;

interface Child {
  kill: () => Promise<void>;
  go: () => void;
  answered: () => number[];
  refused: () => number;
}

/**
 * The built `stratctl serve` (API only) on the runtime dir; `go` starts LOOPS clients activating
 * against it in a tight loop from this process. A version counts as answered once its HTTP 200
 * answer (a change, not a no-op) has been read here, which is what a client of the real server
 * could rely on.
 */
async function startChild(runtimeDir: string): Promise<Child> {
  const server = spawnStratctl(['serve', '--no-runner', '--port', '0', '--runtime-dir', runtimeDir], { CONTROL_PLANE_TOKEN: CRASH_TOKEN });
  const [, url] = await server.waitFor(LISTENING, 30_000);
  const answered: number[] = [];
  let refused = 0;
  let killed = false;
  const loop = async (n: number) => {
    for (let i = n; !killed; i++) {
      try {
        const res = await fetch(url as string, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${CRASH_TOKEN}` },
          body: JSON.stringify({
            query: `mutation { activateStrategy(strategyKey: "${KEYS[i % KEYS.length]}") { configVersion changed } }`,
          }),
        });
        const body = (await res.json()) as { data?: { activateStrategy?: { configVersion: number; changed: boolean } } };
        const result = body.data?.activateStrategy;
        if (killed) return; // read after the kill was sent: not counted either way
        // A no-op (the key was already active) wrote nothing: it names the version in force, not one of its own.
        if (res.status === 200 && result?.configVersion) {
          if (result.changed) answered.push(result.configVersion);
        } else refused++;
      } catch {
        return; // the server is gone
      }
    }
  };
  let loops: Promise<void>[] = [];
  return {
    go: () => {
      loops = Array.from({ length: LOOPS }, (_, n) => loop(n));
    },
    kill: async () => {
      await server.stop('SIGKILL');
      killed = true;
      await Promise.all(loops);
    },
    answered: () => [...answered],
    refused: () => refused,
  };
}

/** The audit log's complete lines (a torn tail is ignored, as the server's start does). */
async function auditEntries(runtimeDir: string): Promise<{ version: number; operation: string; actor: string; digest: string }[]> {
  const text = await readFile(path.join(runtimeDir, 'audit.log'), 'utf8').catch(() => '');
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
}

/**
 * config.yaml parses and validates against the registry, or the test fails. Right after a kill
 * (`takenAway`) a config.yaml missing is looked for under its aside name (the newest), the file the
 * next start puts back; `takenAway()` is told.
 */
async function checkConfig(runtimeDir: string, takenAway?: () => void): Promise<{ version: number; digest: string }> {
  let file = path.join(runtimeDir, 'config.yaml');
  const missing = await stat(file).then(
    () => false,
    (err: NodeJS.ErrnoException) => err.code === 'ENOENT',
  );
  if (missing && takenAway) {
    const asides = await Promise.all(
      (await readdir(runtimeDir))
        .filter((name) => /^\.config\.yaml\.\d+\.[0-9a-f]{12}\.aside\.tmp$/.test(name))
        .map(async (name) => ({ name, mtimeMs: (await stat(path.join(runtimeDir, name))).mtimeMs })),
    );
    const newest = asides.sort((a, b) => b.mtimeMs - a.mtimeMs)[0];
    if (newest) {
      takenAway();
      file = path.join(runtimeDir, newest.name);
    }
  }
  const text = await readFile(file, 'utf8');
  const { config } = parseConfigFile(defaultRegistry, file, text); // throws on an invalid file
  return { version: config.version, digest: digestOf(text) };
}

/**
 * Starts a control plane that activates in a tight loop, SIGKILLs it at a random moment, and
 * checks the files; `kills` times. After every restart the config's version and digest match the
 * audit log's last complete line, and every answered change is in the audit log as itself.
 */
export async function crashTrial(runtimeDir: string, kills: number, maxRunMs = 400): Promise<CrashFigures> {
  const figures: CrashFigures = {
    kills: 0,
    answeredWrites: 0,
    refusedWrites: 0,
    tornLinesSetAside: 0,
    recoveryLines: 0,
    filesCorrupted: 0,
    tempFilesAfterKills: 0,
    takenAwayAtKills: 0,
    strayTempFiles: 0,
    finalVersion: 0,
  };
  const answered = new Set<number>();
  for (let i = 0; i <= kills; i++) {
    const child = await startChild(runtimeDir);
    // Restarted: recovery has run. The file and the log's last line agree; nothing answered is lost.
    const config = await checkConfig(runtimeDir);
    const entries = await auditEntries(runtimeDir);
    const last = entries.at(-1);
    expect(last?.version, `after restart ${i}: audit's last line vs config.yaml`).toBe(config.version);
    expect(last?.digest).toBe(config.digest);
    const byVersion = new Map(entries.map((e) => [e.version, e]));
    for (const v of answered)
      expect(byVersion.get(v), `answered version ${v} in audit.log`).toMatchObject({ operation: 'activateStrategy', actor: 'admin' });
    figures.finalVersion = config.version;
    // The restarted process removed the temp files its killed predecessor left mid-write.
    expect((await readdir(runtimeDir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    if (i === kills) {
      await child.kill();
      break;
    }

    child.go();
    // Kill in the steady state: once writes are flowing, at a random moment within maxRunMs.
    const deadline = performance.now() + 10_000;
    while (child.answered().length === 0 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, Math.random() * maxRunMs));
    await child.kill();
    figures.kills++;
    for (const v of child.answered()) answered.add(v);
    figures.refusedWrites += child.refused();
    figures.tempFilesAfterKills += (await readdir(runtimeDir)).filter((f) => f.endsWith('.tmp')).length;
    try {
      await checkConfig(runtimeDir, () => figures.takenAwayAtKills++);
    } catch (err) {
      figures.filesCorrupted++;
      throw err;
    }
  }
  const files = await readdir(runtimeDir);
  figures.answeredWrites = answered.size;
  figures.tornLinesSetAside = files.filter((f) => f.startsWith('audit.log.torn-')).length;
  figures.strayTempFiles = files.filter((f) => f.endsWith('.tmp')).length;
  figures.recoveryLines = (await auditEntries(runtimeDir)).filter((e) => e.operation === 'recovery').length;
  return figures;
}
