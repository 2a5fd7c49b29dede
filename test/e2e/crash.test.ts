import { describe, expect, it } from 'vitest';
import { crashTrial } from '../helpers/crash-harness.js';
import { checkHistoryAfterCrashes } from '../helpers/crash-history.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';

// The short run; `npm run soak` kills 200+ times (test/soak/crash.soak.test.ts).
const KILLS = Number(process.env.CRASH_KILLS ?? 15);

describe('crash safety', () => {
  it(
    `SIGKILLed ${KILLS} times mid-activation: config always valid, audit matches it after restart, nothing answered lost`,
    async () => {
      const runtimeDir = await tempRuntimeDir();
      const figures = await crashTrial(runtimeDir, KILLS);
      console.log(`crash safety: ${JSON.stringify(figures)}`);
      expect(figures.kills).toBe(KILLS);
      expect(figures.filesCorrupted).toBe(0);
      expect(figures.strayTempFiles).toBe(0); // what kills left (tempFilesAfterKills) is gone after the restarts
      expect(figures.answeredWrites).toBeGreaterThan(0);
      await checkHistoryAfterCrashes(runtimeDir, figures.finalVersion);
    },
    60_000 + KILLS * 20_000,
  ); // each restart is a fresh server process: a second or more apiece on a loaded machine
});
