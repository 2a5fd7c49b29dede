import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, startTestServer } from '../helpers/server.js';

/** Every `code: 'X'` the server side writes (not the CLI's own `--json` codes: README's stratctl section has those). */
function serverCodes(): string[] {
  const codes = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) {
        if (!['cli', 'client', 'generated', 'page'].includes(name)) walk(file);
      } else if (file.endsWith('.ts')) {
        for (const m of readFileSync(file, 'utf8').matchAll(/\bcode: '([A-Z_]+)'/g)) codes.add(m[1] as string);
      }
    }
  };
  walk(path.join(ROOT, 'src'));
  return [...codes].sort();
}

/** README's Errors section, up to the next section. */
function errorsSection(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Errors\n');
  expect(start).toBeGreaterThan(0);
  return readme.slice(start, readme.indexOf('\n## ', start + 1));
}

describe("README's Errors section", () => {
  it('names every extensions.code the server can answer with', () => {
    const codes = serverCodes();
    // The codes the server answers with by itself, found in its source (a sanity bound on the scan).
    expect(codes).toEqual(expect.arrayContaining(['BAD_USER_INPUT', 'UNAVAILABLE', 'CONFLICT', 'CONFIG_WRITE_FAILED', 'NOT_FOUND']));
    const section = errorsSection();
    expect(codes.filter((code) => !section.includes(`\`${code}\``))).toEqual([]);
  });

  it('gives the code a document that does not parse gets, as the server answers it', async () => {
    const server = await startTestServer();
    const res = await server.gql('{ status { configVersion }');
    expect(res.body.errors?.[0]?.extensions?.code).toBe('GRAPHQL_PARSE_FAILED');
    expect(errorsSection()).toMatch(/\| a document that does not parse \| `Syntax Error: \.\.\.` \| `GRAPHQL_PARSE_FAILED` \|/);
  });
});
