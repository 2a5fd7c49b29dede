import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  type ArgumentNode,
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  TypeInfo,
  visit,
  visitWithTypeInfo,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { QUERY_LIMITS } from '../src/graphql/plugins/armor.js';
import { schema } from '../src/graphql/schema/index.js';
import { ROOT, startTestServer } from './helpers/server.js';

/** The anonymous cost limit (DESIGN "Limits": 5,000 without a token). */
const ANONYMOUS_LIMIT = 5_000;
const LIST_SIZE_ARGUMENTS = new Set(['first', 'last']);

const dir = path.join(ROOT, 'operations');
const definitions: DefinitionNode[] = readdirSync(dir)
  .filter((f) => f.endsWith('.graphql'))
  .flatMap((f) => parse(readFileSync(path.join(dir, f), 'utf8')).definitions);
const fragments = new Map(
  definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
);
const operations = definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);

/** The operation with the fragments it spreads (transitively). */
function documentFor(operation: OperationDefinitionNode): DocumentNode {
  const used = new Map<string, FragmentDefinitionNode>();
  const walk = (node: OperationDefinitionNode | FragmentDefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !used.has(fragment.name.value)) {
          used.set(fragment.name.value, fragment);
          walk(fragment);
        }
      },
    });
  walk(operation);
  return { kind: Kind.DOCUMENT, definitions: [operation, ...used.values()] };
}

/**
 * The document as it runs with no variables given: every list-size argument (`first`/`last`) as
 * the literal it takes then (the operation's variable default, else the schema's default), so a
 * cost rule that reads literals counts the list sizes the server will really return.
 */
function atDefaults(document: DocumentNode, operation: OperationDefinitionNode): DocumentNode {
  const variableDefaults = new Map(
    (operation.variableDefinitions ?? []).filter((v) => v.defaultValue).map((v) => [v.variable.name.value, v.defaultValue!]),
  );
  const typeInfo = new TypeInfo(schema);
  return visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(field) {
        const def = typeInfo.getFieldDef();
        if (!def) return undefined;
        const args: ArgumentNode[] = [...(field.arguments ?? [])];
        let changed = false;
        for (const arg of def.args) {
          if (!LIST_SIZE_ARGUMENTS.has(arg.name)) continue;
          const index = args.findIndex((a) => a.name.value === arg.name);
          const given = index === -1 ? undefined : args[index]!.value;
          const value =
            given?.kind === Kind.VARIABLE
              ? (variableDefaults.get(given.name.value) ??
                (arg.defaultValue != null ? { kind: Kind.INT, value: String(arg.defaultValue) } : given))
              : (given ?? (arg.defaultValue != null ? { kind: Kind.INT, value: String(arg.defaultValue) } : undefined));
          if (!value || value === given) continue;
          const node: ArgumentNode = {
            kind: Kind.ARGUMENT,
            name: { kind: Kind.NAME, value: arg.name },
            value: value as ArgumentNode['value'],
          };
          if (index === -1) args.push(node);
          else args[index] = node;
          changed = true;
        }
        return changed ? { ...field, arguments: args } : undefined;
      },
    }),
  );
}

describe('operations/*.graphql', () => {
  it('every operation costs at most the anonymous limit at its defaults (list sizes included)', async () => {
    // A limit of 0 makes the server's own cost rule report every operation's cost.
    const server = await startTestServer({ runner: false, security: { queryLimits: { maxCost: 0 } } });
    const { validate, schema: served } = server.yoga.getEnveloped({ request: new Request(server.url) } as never);
    const costs: Record<string, number> = {};
    for (const operation of operations) {
      const document = atDefaults(documentFor(operation), operation);
      let message = '';
      try {
        message = validate(served, document)
          .map((e: { message: string }) => e.message)
          .join('\n');
      } catch (err) {
        message = (err as Error).message;
      }
      const found = /Query Cost limit of 0 exceeded, found (\d+(?:\.\d+)?)/.exec(message);
      expect(found, `${operation.name?.value}: ${message}\n${print(document)}`).not.toBeNull();
      costs[operation.name!.value] = Number(found![1]);
    }
    process.stdout.write(`operation costs at their defaults: ${JSON.stringify(costs)}\n`);
    expect(Object.keys(costs)).toContain('OperatorSignals');
    for (const [name, cost] of Object.entries(costs))
      expect(cost, name).toBeLessThanOrEqual(Math.min(ANONYMOUS_LIMIT, QUERY_LIMITS.maxCost));
  });

  it('counts list sizes from defaults: the same query with last: 1000 would be over the limit', async () => {
    const server = await startTestServer({ runner: false, security: { queryLimits: { maxCost: 0 } } });
    const { validate, schema: served } = server.yoga.getEnveloped({ request: new Request(server.url) } as never);
    const cost = (text: string) => {
      const operation = parse(text).definitions[0] as OperationDefinitionNode;
      try {
        validate(served, atDefaults(documentFor(operation), operation));
      } catch (err) {
        return Number(/found (\d+(?:\.\d+)?)/.exec((err as Error).message)?.[1]);
      }
      return Number.NaN;
    };
    const fields = '{ instrument strategyKey direction reason price candleTime error }';
    expect(cost(`query Q($n: Int = 1000) { signals(last: $n) ${fields} }`)).toBeGreaterThan(ANONYMOUS_LIMIT);
    expect(cost(`query Q { signals ${fields} }`)).toBe(cost(`query Q { signals(last: 100) ${fields} }`));
    expect(cost(`query Q($n: Int) { signals(last: $n) ${fields} }`)).toBe(cost(`query Q { signals(last: 100) ${fields} }`));
  });
});
