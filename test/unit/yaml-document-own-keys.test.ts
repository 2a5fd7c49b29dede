import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import type { RuntimeConfig } from '../../src/config/schema.js';
import { applyConfigToDocument, renderNewConfigFile } from '../../src/config/yaml-document.js';

const config = (tunableOverrides: RuntimeConfig['tunableOverrides']): RuntimeConfig => ({
  activeStrategyKey: 'gold' as RuntimeConfig['activeStrategyKey'],
  tradingEnabled: true,
  scanIntervalSeconds: 30,
  tunableOverrides,
  version: 2,
  updatedAt: '2026-11-30T00:00:00.000Z',
});

describe('the config document follows a change whose keys are named like Object’s own (both stores write through it)', () => {
  it('removing the overrides of a strategy named constructor removes them from the file (they stayed: answered and audited, not written)', () => {
    const before = config({ constructor: { fast_ma_period: 11 }, gold: { fast_ma_period: 9 } });
    const doc = parseDocument(renderNewConfigFile(before));
    applyConfigToDocument(doc, before, config({ gold: { fast_ma_period: 9 } }));
    expect(doc.toJS().tunable_overrides).toEqual({ gold: { fast_ma_period: 9 } });
  });

  it('removing a tunable named toString or constructor removes it too', () => {
    const before = config({ gold: { toString: 1, constructor: 2, fast_ma_period: 9 } });
    const doc = parseDocument(renderNewConfigFile(before));
    applyConfigToDocument(doc, before, config({ gold: { fast_ma_period: 9 } }));
    expect(doc.toJS().tunable_overrides).toEqual({ gold: { fast_ma_period: 9 } });
  });
});

describe('tunable_overrides empty, null or all commented out in the file (valid: read as none)', () => {
  const text = (overrides: string) =>
    `active_strategy_key: gold\ntrading_enabled: true\nscan_interval_seconds: 30\n${overrides}version: 2\nupdated_at: 2026-11-30T00:00:00.000Z\n`;
  const shapes: [string, string][] = [
    ['commented out', 'tunable_overrides:\n  # gold:\n  #   fast_ma_period: 40\n'],
    ['null', 'tunable_overrides: ~\n'],
    ['empty', 'tunable_overrides:\n'],
    ['left out', ''],
  ];
  it.each(shapes)('%s: an override is written (it threw "Expected YAML collection": a 500), what was said there kept', (_, overrides) => {
    const doc = parseDocument(text(overrides));
    applyConfigToDocument(doc, config({}), config({ gold: { fast_ma_period: 9 } }));
    expect(doc.errors).toEqual([]);
    const written = doc.toString();
    expect(parseDocument(written).toJS().tunable_overrides).toEqual({ gold: { fast_ma_period: 9 } });
    if (overrides.includes('#'))
      expect(written).toContain('tunable_overrides:\n  # gold:\n  #   fast_ma_period: 40\n  gold:\n    fast_ma_period: 9\n');
  });

  it('an activation keeps the commented-out overrides (they were dropped for `tunable_overrides: {}`)', () => {
    const doc = parseDocument(text(shapes[0]![1]));
    applyConfigToDocument(doc, config({}), { ...config({}), activeStrategyKey: 'range' as RuntimeConfig['activeStrategyKey'] });
    const written = doc.toString();
    expect(written).toContain('# gold:\n');
    expect(written).toContain('#   fast_ma_period: 40');
    expect(parseDocument(written).toJS()).toMatchObject({ active_strategy_key: 'range', tunable_overrides: {} });
  });
});
