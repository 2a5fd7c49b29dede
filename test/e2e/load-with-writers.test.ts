import { describe, expect, it } from 'vitest';
import { runLoadWithWriters } from '../helpers/load-with-writers.js';
import { startTestServer } from '../helpers/server.js';

describe('load with writers (small run; the full one is test/soak/load.soak.test.ts)', () => {
  it('30 readers while 3 writers activate for 1.5 s: no failed or invalid read, versions in order, writes == version delta', async () => {
    const server = await startTestServer();
    const r = await runLoadWithWriters({
      url: server.url,
      token: server.token,
      runtimeDir: server.runtimeDir,
      readers: 50,
      writers: 5,
      durationMs: 2_000,
    });
    expect(r.firstFailures).toEqual([]);
    expect(r.failedReads).toBe(0);
    expect(r.invalidReads).toBe(0);
    expect(r.versionRegressions).toBe(0);
    expect(r.staleFinalReads).toBe(0);
    expect(r.failedWrites).toBe(0);
    expect(r.duplicateWriteVersions).toBe(0);
    expect(r.reads).toBeGreaterThan(60);
    // Every writer got through (a saturated server serializes writes behind reads: see the report).
    expect(r.acceptedWrites).toBeGreaterThanOrEqual(3);
    expect(r.versionsSeen).toBeGreaterThan(1);
    expect(r.acceptedWrites).toBe(r.versionAfter - r.versionBefore);
    if (r.auditLinesAdded !== null) expect(r.auditLinesAdded).toBe(r.acceptedWrites);
  }, 60_000);
});
