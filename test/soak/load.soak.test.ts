import { describe, expect, it } from 'vitest';
import { runLoadWithWriters } from '../helpers/load-with-writers.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer } from '../helpers/server.js';

const TOKEN = 'load-soak-token-0123456789abcdef';

describe('load with writers soak', () => {
  it('500 concurrent readers while 20 writers activate for 10 s, against `stratctl serve` in its own process', async () => {
    const runtimeDir = await tempRuntimeDir();
    // 520 clients, all from 127.0.0.1 here: lift the per-address connection cap (64) that real clients each have.
    const server = await spawnServer(runtimeDir, ['--no-runner', '--max-connections-per-client', '1024'], { CONTROL_PLANE_TOKEN: TOKEN });
    const r = await runLoadWithWriters({ url: server.url, token: TOKEN, runtimeDir, readers: 500, writers: 20, durationMs: 10_000 });
    console.log(`load soak: ${JSON.stringify(r)}`);
    expect(r.firstFailures).toEqual([]);
    expect(r.failedReads).toBe(0);
    expect(r.invalidReads).toBe(0);
    expect(r.versionRegressions).toBe(0);
    expect(r.staleFinalReads).toBe(0);
    expect(r.failedWrites).toBe(0);
    expect(r.duplicateWriteVersions).toBe(0);
    expect(r.acceptedWrites).toBeGreaterThanOrEqual(20);
    expect(r.versionsSeen).toBeGreaterThan(1);
    expect(r.acceptedWrites).toBe(r.versionAfter - r.versionBefore);
    if (r.auditLinesAdded !== null) expect(r.auditLinesAdded).toBe(r.acceptedWrites);
  }, 120_000);
});
