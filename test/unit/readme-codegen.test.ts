import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CodegenConfig } from '@graphql-codegen/cli';
import { generate } from '@graphql-codegen/cli';
import { expect, test } from 'vitest';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { ROOT } from '../helpers/server.js';

/** The `codegen.ts` a typed-client user copies from the README's "Typed clients (codegen)" section. */
async function readmeCodegenSnippet(): Promise<string> {
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('## Typed clients (codegen)\n');
  const section = readme.slice(start, readme.indexOf('\n## ', start + 1));
  const snippet = /```ts\n(\/\/ codegen\.ts in your project\n[\s\S]*?)```/.exec(section)?.[1];
  expect(snippet, 'the codegen.ts block in "## Typed clients (codegen)"').toBeDefined();
  return snippet as string;
}

// A client project that is ESM with "module": "NodeNext" (or has "verbatimModuleSyntax") refuses
// an extension-less relative import (TS2835) and a type imported without `import type` (TS1484):
// the README's snippet must generate neither. Checked on what codegen generates from it, against
// this repository's schema, for one operation.
test("the README's codegen.ts generates imports that NodeNext and verbatimModuleSyntax accept", async () => {
  const dir = await tempRuntimeDir('readme-codegen-');
  await writeFile(path.join(dir, 'codegen.ts'), await readmeCodegenSnippet());
  // Its dependencies, as `npm install` would give it (codegen finds the preset from cwd).
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await mkdir(path.join(dir, 'src'));
  await writeFile(path.join(dir, 'src/strategies.graphql'), 'query Strategies { strategies { key name riskLevel } }\n');
  const { default: config } = (await import(path.join(dir, 'codegen.ts'))) as { default: CodegenConfig };

  const outputs: { filename: string; content: string }[] = await generate(
    { ...config, schema: path.join(ROOT, 'schema.graphql'), cwd: dir, silent: true, verbose: false },
    false,
  );
  expect(outputs.length).toBeGreaterThanOrEqual(3);
  const problems: string[] = [];
  for (const { filename, content } of outputs) {
    const file = path.basename(filename);
    for (const [line, specifier] of content.matchAll(/^(?:import|export)\b[^;\n]*from ['"](\.{1,2}\/[^'"]*)['"]/gm)) {
      if (!specifier?.endsWith('.js')) problems.push(`${file}: a relative import without .js (TS2835): ${line}`);
    }
    // Every named import in the generated files is of types (the documents are plain objects).
    for (const [line] of content.matchAll(/^import \{[^}]*\} from .*$/gm)) {
      problems.push(`${file}: types imported without \`import type\` (TS1484 under verbatimModuleSyntax): ${line}`);
    }
  }
  expect(problems).toEqual([]);
});

// This repository's operations spread fragments (operations/*.graphql: RunnerInfo ...). A client
// that copies them with the README's config gets their fields as plain properties (a masked
// fragment made `status.runner.state` a TS2339 until read with useFragment).
test("the README's codegen.ts leaves fragments unmasked, so this repository's operations type as they read", async () => {
  const dir = await tempRuntimeDir('readme-codegen-');
  await writeFile(path.join(dir, 'codegen.ts'), await readmeCodegenSnippet());
  await symlink(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  await mkdir(path.join(dir, 'src'));
  await writeFile(
    path.join(dir, 'src/status.graphql'),
    'fragment RunnerBits on RunnerStatus { state }\nquery Status { status { runner { ...RunnerBits } } }\n',
  );
  const { default: config } = (await import(path.join(dir, 'codegen.ts'))) as { default: CodegenConfig };
  const outputs: { filename: string; content: string }[] = await generate(
    { ...config, schema: path.join(ROOT, 'schema.graphql'), cwd: dir, silent: true, verbose: false },
    false,
  );
  const types = outputs.find((o) => path.basename(o.filename) === 'graphql.ts')?.content ?? '';
  expect(types).toMatch(/export type StatusQuery = \{[^\n]*runner: \{[^\n]*state: /);
  expect(types).not.toContain('$fragmentRefs');
});
