import { describe, expect, it } from 'vitest';
import { runHostileInput } from '../helpers/hostile-input.js';
import { startTestServer } from '../helpers/server.js';

const RUNS = Number(process.env.HOSTILE_RUNS ?? 1_500);
const SEEDS = [20261128, 424242, 1];

describe('hostile input soak', () => {
  it(`${SEEDS.length} seeds x ${RUNS} runs: no crash, no leak, no unmasked 5xx, config byte-identical or valid`, async () => {
    const totals = { tried: 0, accepted: 0, refused: 0, unexpected5xx: 0, maskedInternal: 0, filesCorrupted: 0 };
    const byStatus: Record<number, number> = {};
    const acceptedByPath: Record<string, number> = {};
    for (const seed of SEEDS) {
      const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 1_000_000 } } });
      const stats = await runHostileInput(server, { numRuns: RUNS, seed });
      for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += stats[k];
      for (const [status, n] of Object.entries(stats.byStatus)) byStatus[Number(status)] = (byStatus[Number(status)] ?? 0) + n;
      for (const [p, n] of Object.entries(stats.acceptedByPath)) acceptedByPath[p] = (acceptedByPath[p] ?? 0) + n;
      await server.close();
    }
    console.log(`hostile-input soak: ${JSON.stringify({ ...totals, byStatus, acceptedByPath })}`);
    expect(totals.tried).toBe(SEEDS.length * RUNS);
    expect(totals.unexpected5xx).toBe(0);
    expect(totals.filesCorrupted).toBe(0);
  });
});
