import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, type DocumentNode, type GraphQLSchema, getOperationAST, Kind, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { QUERIES } from '../../bench/lib/http.js';
import { jitReadsVariablesAsGraphqlJs } from '../../src/graphql/jit.js';
import { schema } from '../../src/graphql/schema/index.js';
import { ROOT } from '../helpers/server.js';

/** The predicate on a document's one operation (or the one named), the document valid against the schema first. */
function reads(source: string, operationName?: string, on: GraphQLSchema = schema): boolean {
  const document = parse(source);
  expect(validate(on, document), source).toEqual([]);
  const operation = getOperationAST(document, operationName);
  expect(operation, source).toBeTruthy();
  return jitReadsVariablesAsGraphqlJs(on, document, operation!);
}

describe('jitReadsVariablesAsGraphqlJs: which documents graphql-jit may execute', () => {
  it('variables as whole argument values, literals without variables, non-null @include/@skip conditions: jit', () => {
    for (const source of [
      '{ strategies { key } }',
      'query Q($k: String!) { strategy(key: $k) { key } }',
      'query Q($r: RiskLevel, $i: String = "XAU_USD") { strategies(riskLevel: $r, instrument: $i) { key } }',
      'mutation M($i: UpdateConfigInput!, $v: Int) { updateConfig(input: $i, expectedVersion: $v) { changed } }',
      'mutation { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: 21 } }, tradingEnabled: true }) { changed } }',
      'mutation { upsertPreset(input: { key: "gold_fast", base: "gold", name: "G", instruments: ["XAU_USD"] }) { changed } }',
      'query Q($s: Boolean!) { config { version @include(if: $s) scanIntervalSeconds @skip(if: $s) } }',
      'query Q($s: Boolean! = true) { config { ...F @include(if: $s) } } fragment F on RuntimeConfig { version }',
      '{ config { version @include(if: false) } }',
      'query Q($k: String!) { ...S } fragment S on Query { strategy(key: $k) { key } }',
    ]) {
      expect({ source, jit: reads(source) }).toEqual({ source, jit: true });
    }
  });

  it('a variable inside an input-object or custom-scalar literal, a nullable condition, a prototype name: graphql-js', () => {
    for (const source of [
      // Inside a JSON literal: jit parses it once, when compiling, without variables.
      'mutation S($v: Float) { updateConfig(input: { tunableOverrides: { momentum: { lookback_bars: $v } } }) { changed } }',
      'mutation P($f: Float) { upsertPreset(input: { key: "gold_fast", base: "gold", name: "G", tunables: { fast_ma_period: $f } }) { changed } }',
      // Inside an input-object literal: omitted, jit makes it null.
      'mutation S($n: Int, $t: Boolean) { updateConfig(input: { scanIntervalSeconds: $n, tradingEnabled: $t }) { changed } }',
      'mutation S($n: Int!) { updateConfig(input: { scanIntervalSeconds: $n }) { changed } }',
      // A list item inside an input object.
      'mutation P($i: String!) { upsertPreset(input: { key: "gold_fast", base: "gold", name: "G", instruments: [$i] }) { changed } }',
      // A nullable condition (a default makes it valid): given null, jit leaves the field out where graphql-js answers an error.
      'query Q($s: Boolean = true) { config { version @include(if: $s) } }',
      'query Q($s: Boolean = false) { config { version @skip(if: $s) } }',
      // ... also inside a spread fragment.
      'query Q($s: Boolean = true) { ...F } fragment F on Query { config { version @include(if: $s) } }',
      // A name Object.prototype has: left out, jit reads the inherited member.
      'query Q($toString: String) { strategies(instrument: $toString) { key } }',
      'query Q($constructor: String) { strategies(instrument: $constructor) { key } }',
      'query Q($__proto__: String) { strategies(instrument: $__proto__) { key } }',
      'query Q($hasOwnProperty: String!) { strategy(key: $hasOwnProperty) { key } }',
    ]) {
      expect({ source, jit: reads(source) }).toEqual({ source, jit: false });
    }
  });

  it('decides per operation: a fragment counts where its operation spreads it', () => {
    const source =
      'query A($s: Boolean = true) { ...F } query B { config { version } } fragment F on Query { config { version @include(if: $s) } }';
    expect(reads(source, 'A')).toBe(false);
    expect(reads(source, 'B')).toBe(true);
  });

  it('a whole list item: jit where a list argument takes it and null cannot slip into a non-null item', () => {
    // The control plane's schema has no list argument: a schema of its own.
    const listSchema = buildSchema(`
      scalar JSON
      type Query { names(any: [String], set: [String!], nested: [[String!]], json: JSON): [String] }
    `);
    expect(reads('query Q($a: String, $b: String) { names(any: [$a, "x", $b]) }', undefined, listSchema)).toBe(true);
    expect(reads('query Q($a: String!) { names(set: [$a]) }', undefined, listSchema)).toBe(true);
    // Nullable with a default, in a non-null item: given null, graphql-js refuses the argument, jit passes null.
    expect(reads('query Q($a: String = "x") { names(set: [$a]) }', undefined, listSchema)).toBe(false);
    expect(reads('query Q($a: String!) { names(nested: [[$a]]) }', undefined, listSchema)).toBe(false);
    // A list literal given to a custom scalar is that scalar's literal.
    expect(reads('query Q($a: JSON) { names(json: [$a]) }', undefined, listSchema)).toBe(false);
  });

  it('every operation in operations/ (the CLI, the page) and the bench documents: jit', () => {
    const dir = path.join(ROOT, 'operations');
    const all: DocumentNode = {
      kind: Kind.DOCUMENT,
      definitions: readdirSync(dir)
        .filter((f) => f.endsWith('.graphql'))
        .flatMap((f) => parse(readFileSync(path.join(dir, f), 'utf8')).definitions),
    };
    const operations = all.definitions.flatMap((d) => (d.kind === Kind.OPERATION_DEFINITION && d.operation !== 'subscription' ? [d] : []));
    expect(operations.length).toBeGreaterThan(10);
    for (const operation of operations) {
      expect({ operation: operation.name?.value, jit: jitReadsVariablesAsGraphqlJs(schema, all, operation) }).toEqual({
        operation: operation.name?.value,
        jit: true,
      });
    }
    for (const source of Object.values(QUERIES)) expect({ source, jit: reads(source) }).toEqual({ source, jit: true });
  });
});
