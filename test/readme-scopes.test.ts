import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { schema } from '../src/graphql/schema/index.js';

/** Each root field's scope as the schema was built with it (`none`: no scope asked). */
function schemaScopes(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const type of [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()]) {
    for (const field of Object.values(type?.getFields() ?? {})) {
      const scope =
        (field.extensions as { pothosOptions?: { authScopes?: { scope?: string } } }).pothosOptions?.authScopes?.scope ?? 'none';
      out[scope] = [...(out[scope] ?? []), field.name].sort();
    }
  }
  return out;
}

/** README's "Tokens and scopes" table: the root fields each row names (backticked, the `may` column). */
function readmeScopes(): Record<string, string[]> {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('| scope | may | implies |');
  expect(start).toBeGreaterThan(0);
  const rows = readme.slice(start).split('\n').slice(2);
  const out: Record<string, string[]> = {};
  for (const row of rows) {
    if (!row.startsWith('|')) break;
    const [, scopeCell = '', may = ''] = row.split('|').map((c) => c.trim());
    const scope = scopeCell.replace(/`/g, '');
    // Words quoted that are not fields (`null`) are the prose's; anything else quoted must be a root field.
    out[scope] = [...may.matchAll(/`([A-Za-z_]+)`/g)]
      .map((m) => m[1] as string)
      .filter((w) => w !== 'null')
      .sort();
  }
  return out;
}

describe('README scopes table', () => {
  it('names every root field under the scope the schema asks for it, and nothing else', () => {
    expect(readmeScopes()).toEqual(schemaScopes());
  });
});
