import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { type DocumentNode, Kind, parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { AUDIT_MAX_LAST } from '../src/cli/history.js';
import { operationCost } from '../src/graphql/plugins/cost.js';
import { schema } from '../src/graphql/schema/index.js';
import { COST_LIMITS } from '../src/limit-defaults.js';
import { ROOT } from './helpers/server.js';

const dir = path.join(ROOT, 'operations');
/** Every operation and fragment in operations/, as one document (fragments are shared across files). */
const all: DocumentNode = {
  kind: Kind.DOCUMENT,
  definitions: readdirSync(dir)
    .filter((f) => f.endsWith('.graphql'))
    .flatMap((f) => parse(readFileSync(path.join(dir, f), 'utf8')).definitions),
};
const operations = all.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.name ? [d.name.value] : []));

describe('operations/*.graphql', () => {
  it('every operation costs at most the anonymous limit at its defaults, by the rule the server applies per request', () => {
    const costs: Record<string, number> = {};
    for (const name of operations) {
      // No variables given: list sizes come from the variables' and the arguments' defaults, as when a client sends none.
      const { cost, lists } = operationCost(schema, all, { operationName: name, unknownListSize: COST_LIMITS.maxListSize });
      costs[name] = cost;
      for (const list of lists)
        expect(list.size ?? 0, `${name}: ${list.field}(${list.argument})`).toBeLessThanOrEqual(COST_LIMITS.maxListSize);
    }
    process.stdout.write(`operation costs at their defaults: ${JSON.stringify(costs)}\n`);
    expect(operations).toEqual(expect.arrayContaining(['Status', 'StatusChanged', 'ActivateStrategy', 'UpdateConfig', 'OperatorSignals']));
    for (const [name, cost] of Object.entries(costs)) expect(cost, name).toBeLessThanOrEqual(COST_LIMITS.maxCost);
  });

  it('stratctl audit --last at its most fits the cost limit with a token (at the list limit, 1,000, it would not)', () => {
    const cost = (last: number) => operationCost(schema, all, { operationName: 'AuditLog', variables: { last }, unknownListSize: 1 }).cost;
    expect(cost(AUDIT_MAX_LAST)).toBeLessThanOrEqual(COST_LIMITS.maxCostWithToken);
    expect(cost(COST_LIMITS.maxListSizeWithToken)).toBeGreaterThan(COST_LIMITS.maxCostWithToken);
  });
});
