import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/config/audit-entry.js';
import { digestOf } from '../../src/config/digest.js';
import { checkDump, DumpInvalidError, type StoreDump } from '../../src/config/dump.js';
import { defaultRegistry } from '../../src/registry/index.js';

const PRESETS = `version: 1
presets:
  gold_fast:
    base: gold
    name: Gold Trend (fast)
    tunables:
      fast_ma_period: 8
      slow_ma_period: 21
`;
const config = (key: string) =>
  `active_strategy_key: ${key}\ntrading_enabled: true\nscan_interval_seconds: 30\ntunable_overrides: {}\nversion: 3\nupdated_at: 2026-11-29T00:00:00Z\n`;
const dump = (over: Partial<StoreDump>): StoreDump => ({
  config: config('momentum'),
  strategies: null,
  tokens: [],
  audit: [],
  skippedAudit: [],
  ...over,
});

describe('checkDump (stratctl store migrate checks the source before writing anything)', () => {
  it('judges the config against the strategies the dump itself defines: a preset may be the active strategy', () => {
    expect(checkDump(dump({ config: config('gold_fast'), strategies: PRESETS }), 'src', defaultRegistry)).toMatchObject({
      configVersion: 3,
    });
  });

  it('refuses a config naming a preset the dump does not define, and presets that are invalid, with their line', () => {
    const problemsOf = (d: StoreDump) => {
      try {
        checkDump(d, 'src', defaultRegistry);
      } catch (err) {
        expect(err).toBeInstanceOf(DumpInvalidError);
        return (err as DumpInvalidError).problems;
      }
      return [];
    };
    expect(problemsOf(dump({ config: config('gold_fast') }))).toEqual([
      expect.stringMatching(/^config: line 1: .*Invalid strategy key: gold_fast/),
    ]);
    expect(problemsOf(dump({ strategies: PRESETS.replace('base: gold', 'base: silver') }))).toEqual([
      expect.stringMatching(/^strategies: line \d+: .*silver/),
    ]);
  });

  it('a source running a kept set (its stored presets kept out) is refused naming the kept-out presets and the way out, not blaming its config', () => {
    const presetsEntry = (text: string): StoreDump['audit'][number] => {
      const entry = { subject: 'PRESETS', version: 1, digest: digestOf(text), time: '2026-11-29T00:00:00Z' } as AuditEntry;
      return { entry, json: JSON.stringify(entry) };
    };
    const keptOut = (keptText: string, recorded: string): StoreDump =>
      dump({
        config: config('gold_fast'),
        strategies: 'version: 2\npresets: {}\n',
        audit: [presetsEntry(recorded)],
        strategiesKept: { presetsAt: '/t2/strategies', keptAt: '/t2/strategies.kept', text: keptText },
      });
    const problemsOf = (d: StoreDump) => {
      try {
        checkDump(d, 'src', defaultRegistry);
      } catch (err) {
        expect(err).toBeInstanceOf(DumpInvalidError);
        return (err as DumpInvalidError).problems;
      }
      return [];
    };
    expect(problemsOf(keptOut(PRESETS, PRESETS))).toEqual([
      expect.stringMatching(
        /^\/t2\/strategies is kept out: the config in force is invalid with it \(.*Invalid strategy key: gold_fast\); the deployment runs the presets kept at \/t2\/strategies\.kept \(version 1\), which a move does not copy\. Bring the stored presets in force first, then migrate: put that set back into \/t2\/strategies, or make the config stop using what \/t2\/strategies removes \(activate another strategy/,
      ),
    ]);
    // A kept copy that is not the set the trail recorded last is not in force anywhere: the config is what is wrong.
    expect(problemsOf(keptOut(PRESETS, 'version: 1\npresets: {}\n'))).toEqual([
      expect.stringMatching(/^config: line 1: .*Invalid strategy key: gold_fast/),
    ]);
  });
});
