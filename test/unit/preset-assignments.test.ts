import { describe, expect, it } from 'vitest';
import { parsePresetAssignments } from '../../src/cli/preset-assignments.js';

describe('preset set: values that YAML or JSON would have turned into a removal', () => {
  it('null, written out, still removes a tunable or puts a field back to the base’s', () => {
    expect(parsePresetAssignments(['tunables.fast_ma_period=null', 'risk_level=null'])).toEqual({
      fields: { riskLevel: null },
      tunables: { fast_ma_period: null },
    });
    expect(parsePresetAssignments(['tunables.fast_ma_period=8']).tunables).toEqual({ fast_ma_period: 8 });
  });

  it.each(['null', 'Null', 'NULL', '~'])(
    'description=%s and instruments=%s put them back to the base’s, as every YAML null does (~ was stored as the text "~")',
    (raw) => {
      expect(parsePresetAssignments([`description=${raw}`, `instruments=${raw}`]).fields).toEqual({ description: null, instruments: null });
    },
  );

  it.each([
    [['tunables.fast_ma_period='], /tunables.fast_ma_period: no value after "=" \(to remove it, write null\)/],
    [['tunables.fast_ma_period=.nan'], /"\.nan" is not a finite number/],
    [['tunables.fast_ma_period=1e400'], /"1e400" is not a finite number/],
    [['risk_level='], /risk_level: no value after "="$/],
    [['session_preference='], /session_preference: no value after "="$/],
    [['name=null'], /name: a preset needs a name of its own; null cannot put it back/],
    [['base=~'], /base: a preset needs a base; null cannot put it back/],
    [['name=NULL'], /name: a preset needs a name of its own; null cannot put it back/],
  ])('refuses %j (it removed the value, exit 0)', (args, message) => {
    expect(() => parsePresetAssignments(args)).toThrow(message);
  });

  it.each([
    [['tunables.fast_ma_period=8', 'tunables.fast_ma_period=12'], 'tunables.fast_ma_period'],
    [['name=A', 'risk_level=low', 'name=B'], 'name'],
  ])('refuses %j: a key given twice (the last won, exit 0), as config set does', (args, key) => {
    expect(() => parsePresetAssignments(args)).toThrow(`${key} is given twice: give each key once`);
  });

  it('a tunable named __proto__ is sent as a key (the server refuses it)', () => {
    expect(JSON.stringify(parsePresetAssignments(['tunables.__proto__=5']).tunables)).toBe('{"__proto__":5}');
  });
});
