import { describe, expect, it } from 'vitest';
import { crashTrial } from '../helpers/crash-harness.js';
import { checkHistoryAfterCrashes } from '../helpers/crash-history.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

const KILLS = Number(process.env.CRASH_KILLS ?? 200);

describe('crash safety (soak)', () => {
  it(`SIGKILLed ${KILLS} times mid-activation: config always valid, audit matches it after restart, nothing answered lost`, async () => {
    const runtimeDir = await tempRuntimeDir();
    const started = Date.now();
    const figures = await crashTrial(runtimeDir, KILLS, 600);
    const kept = await checkHistoryAfterCrashes(runtimeDir, figures.finalVersion);
    console.log(`crash soak: ${JSON.stringify({ ...figures, historyKept: kept, seconds: Math.round((Date.now() - started) / 1000) })}`);
    expect(figures.kills).toBe(KILLS);
    expect(figures.filesCorrupted).toBe(0);
    expect(figures.strayTempFiles).toBe(0);
    expect(figures.answeredWrites).toBeGreaterThan(KILLS);
  });
});
