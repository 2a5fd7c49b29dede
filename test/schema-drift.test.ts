import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { printSchemaSDL } from '../src/graphql/print.js';
import { schema } from '../src/graphql/schema/index.js';

describe('schema.graphql', () => {
  it('is the printed Pothos schema (run `npm run schema:print` after changing the schema)', () => {
    const committed = readFileSync(new URL('../schema.graphql', import.meta.url), 'utf8');
    expect(printSchemaSDL(), 'schema.graphql is stale: run `npm run schema:print` and commit it').toBe(committed);
  });

  it('keeps the contract names and shapes of DESIGN.md', () => {
    const signature = (typeName: 'Query' | 'Mutation', field: string) => {
      const f = (typeName === 'Query' ? schema.getQueryType() : schema.getMutationType())?.getFields()[field];
      return f && `${field}(${f.args.map((a) => `${a.name}: ${String(a.type)}`).join(', ')}): ${String(f.type)}`;
    };
    expect(signature('Query', 'strategies')).toBe(
      'strategies(instrument: String, riskLevel: RiskLevel, sessionPreference: TradingSession): [Strategy!]!',
    );
    expect(signature('Query', 'strategy')).toBe('strategy(key: String!): Strategy');
    expect(signature('Query', 'status')).toBe('status(): Status!');
    expect(signature('Query', 'config')).toBe('config(): RuntimeConfig!');
    expect(signature('Mutation', 'activateStrategy')).toMatch(/^activateStrategy\(strategyKey: String!.*\): ActivateStrategyPayload!$/);
    expect(signature('Mutation', 'updateConfig')).toMatch(/^updateConfig\(input: UpdateConfigInput!.*\): UpdateConfigPayload!$/);
    expect(signature('Mutation', 'upsertPreset')).toBe('upsertPreset(input: PresetInput!, expectedVersion: Int): PresetPayload!');
    expect(signature('Mutation', 'deletePreset')).toBe('deletePreset(key: String!, expectedVersion: Int): PresetPayload!');
  });
});
