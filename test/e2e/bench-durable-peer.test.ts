import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { groupFloorDirIn } from '../../bench/lib/group-write.js';
import type { PeerData } from '../../bench/peers/common.js';
import { afterEachTest } from '../helpers/cleanup.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const children: ChildProcess[] = [];
afterEachTest(async () => {
  await Promise.all(
    children.splice(0).map(async (child) => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    }),
  );
});

/** Starts the plain peer with a durable dir; resolves to its URL. */
async function startPlainPeer(dir: string, durableDir: string): Promise<string> {
  const data: PeerData = {
    strategies: [{ key: 'gold' }, { key: 'range' }],
    status: { activeStrategyKey: 'gold', configVersion: 1, runner: { state: 'RUNNING' } },
    answers: [{ request: '{"query":"{ status { configVersion } }"}', response: '{"data":{"status":{"configVersion":1}}}' }],
  };
  const file = path.join(dir, 'peer-data.json');
  writeFileSync(file, JSON.stringify(data));
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/peers/plain.ts', file, durableDir], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.push(child);
  let out = '';
  for await (const chunk of child.stdout!) {
    out += String(chunk);
    const match = /peer listening on (http:\/\/\S+)/.exec(out);
    if (match) return match[1]!;
  }
  throw new Error(`the plain peer exited before listening: ${out}`);
}

const activate = (key: string) =>
  JSON.stringify({ query: 'mutation($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', variables: { k: key } });
const auditLines = (dir: string) => readFileSync(path.join(dir, 'audit.log'), 'utf8').split('\n').filter(Boolean);

/**
 * The reload part's floor for a durable activation over HTTP (bench/parts/reload.ts) is only a floor
 * if the peer answers after the disk work, not beside it: each answer must find its audit line
 * (fsync'd last) and its config version already on disk.
 */
describe('the bench peer plain node:http: POST /durable answers after the group commit disk work', () => {
  it('each answer comes after its own config write and audit line; reads and /graphql write nothing', async () => {
    const dir = await tempRuntimeDir('scp-bench-peer-');
    const durableDir = groupFloorDirIn(path.join(dir, 'durable'));
    const url = await startPlainPeer(dir, durableDir);
    const durable = url.replace(/\/graphql$/, '/durable');
    for (const [i, key] of ['range', 'gold', 'range'].entries()) {
      const res = await fetch(durable, { method: 'POST', headers: { 'content-type': 'application/json' }, body: activate(key) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        data: {
          activateStrategy: {
            activeStrategyKey: key,
            previousStrategyKey: ['gold', 'range', 'gold'][i],
            configVersion: 2 + i,
          },
        },
      });
      expect(auditLines(durableDir)).toHaveLength(i + 1);
      expect(readFileSync(path.join(durableDir, 'config.yaml'), 'utf8')).toBe(`active_strategy_key: gold\nversion: ${i + 1}\n`);
    }
    const read = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"query":"{ status { configVersion } }"}',
    });
    expect(await read.text()).toBe('{"data":{"status":{"configVersion":1}}}');
    const plain = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: activate('gold') });
    expect(plain.status).toBe(200);
    expect(auditLines(durableDir)).toHaveLength(3);
  });
});
