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
