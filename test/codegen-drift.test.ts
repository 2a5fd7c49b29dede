import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import { expect, test } from 'vitest';
import config from '../codegen.js';
import { ROOT } from './helpers/server.js';

// The typed documents in src/generated must be what codegen makes of schema.graphql and
// operations/ now; otherwise stratctl and the REST routes compile against a stale API.
test('src/generated is what `npm run codegen` produces', async () => {
  const outputs: { filename: string; content: string }[] = await generate({ ...config, cwd: ROOT, silent: true, verbose: false }, false);
  const expected = new Map(outputs.map((o) => [path.relative(ROOT, path.resolve(ROOT, o.filename)), o.content]));
  const onDisk = (await readdir(path.join(ROOT, 'src/generated'))).map((f) => path.join('src/generated', f)).sort();
  expect(onDisk, 'files in src/generated (run `npm run codegen`)').toEqual([...expected.keys()].sort());
  for (const [file, content] of expected) {
    const actual = await readFile(path.join(ROOT, file), 'utf8');
    expect(actual === content, `${file} is stale: run \`npm run codegen\` and commit the result`).toBe(true);
  }
  expect(expected.size).toBeGreaterThanOrEqual(3);
});
