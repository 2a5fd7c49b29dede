import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/config/audit-entry.js';
import { digestOf } from '../../src/config/digest.js';
import { checkDump, DumpInvalidError, orderAudit, type StoreDump } from '../../src/config/dump.js';
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

describe('orderAudit (the order a move writes audit.log in)', () => {
  const at = (subject: 'CONFIG' | 'PRESETS', version: number, time: string, digest = `d${version}`): StoreDump['audit'][number] => {
    const entry = { subject, version, digest, time } as AuditEntry;
    return { entry, json: JSON.stringify(entry) };
  };
  const ids = (audit: StoreDump['audit']) => audit.map((a) => `${a.entry.subject[0]}${a.entry.version}`);

  it('keeps each subject by version when clocks disagree (a version timed before the one it followed), and its last entry is its highest version', () => {
    // Written by replicas on two hosts: v5's host clock runs 0.6 s behind v4's (as an etcd read lists them by time).
    const text = config('gold');
    const audit = [
      at('CONFIG', 3, '2026-12-05T07:00:01.000Z'),
      at('CONFIG', 5, '2026-12-05T07:00:01.400Z', digestOf(text)),
      at('CONFIG', 4, '2026-12-05T07:00:02.000Z'),
    ];
    expect(ids(orderAudit(audit))).toEqual(['C3', 'C4', 'C5']);
    // The stored config is v5's text: audited, whatever order the trail was read in.
    expect(checkDump(dump({ config: text, audit }), 'src', defaultRegistry)).toMatchObject({ configVersion: 5, configAudited: true });
  });

  it('merges the two subjects by instant, not by string: an offset like +02:00 is the time it says', () => {
    const audit = [
      at('PRESETS', 1, '2026-12-05T09:00:00Z'),
      at('CONFIG', 1, '2026-12-05T10:00:00+02:00'), // 08:00Z: before the presets entry
      at('CONFIG', 2, '2026-12-05T09:30:00Z'),
      at('PRESETS', 2, '2026-12-05T09:30:00Z'), // the same time (one group commit): the config first
    ];
    expect(ids(orderAudit(audit))).toEqual(['C1', 'P1', 'C2', 'P2']);
  });
});
