// A control plane that activates strategies against itself in a tight loop until it is killed.
// Usage: node --import tsx test/helpers/crash-child.ts <runtimeDir>
// Prints "ready" once started (recovery done), waits for "go" on stdin, then prints
// "ok <version>" for every activation it got an answer (HTTP 200) for that changed the config
// ("same <version>" for a no-op: the key was already active, nothing written).
import { once } from 'node:events';
import { createLogger } from '../../src/log.js';
import { startControlPlane } from '../../src/server.js';

export const CRASH_TOKEN = 'crash-test-admin-token-0123456789';
const KEYS = ['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2'];
const LOOPS = 4;

const runtimeDir = process.argv[2];
if (!runtimeDir) throw new Error('usage: crash-child.ts <runtimeDir>');
const plane = await startControlPlane({
  host: '127.0.0.1',
  port: 0,
  runtimeDir,
  adminToken: CRASH_TOKEN,
  logger: createLogger('silent'),
});
process.stdout.write('ready\n');
await once(process.stdin, 'data');

async function loop(n: number): Promise<void> {
  for (let i = n; ; i++) {
    const key = KEYS[i % KEYS.length];
    const res = await fetch(plane.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${CRASH_TOKEN}` },
      body: JSON.stringify({ query: `mutation { activateStrategy(strategyKey: "${key}") { configVersion changed } }` }),
    });
    const body = (await res.json()) as { data?: { activateStrategy?: { configVersion: number; changed: boolean } } };
    const version = body.data?.activateStrategy?.configVersion;
    const verb = body.data?.activateStrategy?.changed === false ? 'same' : 'ok';
    // stdout to a pipe is synchronous on Linux: once written, the parent will read it.
    process.stdout.write(res.status === 200 && version ? `${verb} ${version}\n` : `refused ${res.status}\n`);
  }
}
await Promise.all(Array.from({ length: LOOPS }, (_, n) => loop(n)));
