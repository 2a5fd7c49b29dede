import { tmpdir } from 'node:os';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { distBuildOptions } from '../../scripts/build-dist.js';

/**
 * What each stratctl command loads before it runs: the bundle `npm run build` writes (built here in
 * memory, with the same options), from dist/cli.js through the chunks it imports, the command tree
 * (main.ts) and the command's own chunk, following static imports only (what is imported lazily
 * loads only when used). Issue 10: the CLI loads nothing it does not use, no yoga or Pothos in
 * `stratctl status`. That held until the limit flags' defaults, listed in `serve --help`, were taken
 * from the plugins that enforce them, and every command loaded graphql and yoga (a 478 KB chunk).
 */
let outputs: Metafile['outputs'];
let outputOf: Map<string, string>;

beforeAll(async () => {
  const result = await build({ ...distBuildOptions(path.join(tmpdir(), 'scp-cli-startup')), write: false });
  outputs = result.metafile.outputs;
  outputOf = new Map(
    Object.entries(outputs).flatMap(([file, output]) => (output.entryPoint ? [[output.entryPoint, file] as [string, string]] : [])),
  );
}, 60_000);

/** The source files and packages in the chunks that load for these entry points (static imports followed). */
function loadedInputs(entryPoints: string[]): string[] {
  const seen = new Set<string>();
  const pending = entryPoints.map((entry) => {
    const file = outputOf.get(entry);
    if (!file) throw new Error(`${entry} is not an entry point of the bundle (a lazy import that is no longer lazy?)`);
    return file;
  });
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imported of outputs[file]!.imports)
      if (imported.kind === 'import-statement' && outputs[imported.path]) pending.push(imported.path);
  }
  return [...seen].flatMap((file) => Object.keys(outputs[file]!.inputs));
}

/** Packages left out of the bundle (etcd3, GraphiQL's renderer) that these entry points import statically. */
function loadedExternals(entryPoints: string[]): string[] {
  const seen = new Set<string>();
  const externals = new Set<string>();
  const pending = entryPoints.map((entry) => outputOf.get(entry)!);
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    for (const imported of outputs[file]!.imports) {
      if (imported.kind !== 'import-statement') continue;
      if (outputs[imported.path]) pending.push(imported.path);
      else if (imported.external && !imported.path.startsWith('node:')) externals.add(imported.path);
    }
  }
  return [...externals];
}

/** The server's own libraries and code: what answers GraphQL, never what asks it. */
const SERVER_ONLY = [
  /node_modules\/(graphql-yoga|@graphql-yoga|@pothos|@envelop|graphql-jit|@escape\.tech|prom-client|etcd3|@grpc)\//,
  // From graphql itself the client needs the printer (and the helpers it uses), to send the typed operations.
  /node_modules\/graphql\/(?!language\/|jsutils\/)/,
  /^src\/(graphql|http|runner|metrics|page|store-etcd)\//,
  /^src\/(control-plane|server|listeners)\.ts$/,
];

const serverParts = (inputs: string[]) => inputs.filter((input) => SERVER_ONLY.some((pattern) => pattern.test(input)));

describe('stratctl loads what a command uses (the bundle as built)', () => {
  it('the command tree (--help, --version, usage errors): commander and a few small modules of ours', () => {
    const inputs = loadedInputs(['src/cli.ts', 'src/cli/main.ts']);
    expect(serverParts(inputs)).toEqual([]);
    const packages = new Set(inputs.filter((i) => i.includes('node_modules/')).map((i) => i.split('node_modules/')[1]!.split('/')[0]));
    expect([...packages]).toEqual(['commander']);
  });

  it.each(['status', 'strategies', 'activate', 'history', 'rollback', 'config', 'preset', 'completion'])(
    'stratctl %s: no server (yoga, Pothos, envelop, graphql-jit, the schema, the HTTP adapter)',
    (command) => {
      const inputs = loadedInputs(['src/cli.ts', 'src/cli/main.ts', `src/cli/${command}.ts`]);
      expect(inputs).toContain(`src/cli/${command}.ts`);
      expect(serverParts(inputs)).toEqual([]);
    },
  );

  it('stratctl serve and runner load no etcd client until an etcd:// store is asked for (it was ~90 ms of every start and ~20 MB)', () => {
    for (const command of ['serve', 'runner']) {
      const entries = ['src/cli.ts', 'src/cli/main.ts', `src/cli/${command}.ts`];
      expect(loadedExternals(entries)).not.toContain('etcd3');
    }
    // The check sees etcd3 where it is loaded: the etcd store itself, imported when an etcd:// store is used.
    expect(loadedExternals(['src/store-etcd/index.ts'])).toContain('etcd3');
  });

  it("stratctl serve loads of zod and rate-limiter-flexible only what it uses (zod's locales and JSON-schema tools, the limiter's Redis, Mongo, ... stores were ~550 KB of every start)", () => {
    const inputs = loadedInputs(['src/cli.ts', 'src/cli/main.ts', 'src/cli/serve.ts']);
    const of = (pkg: string) =>
      inputs.filter((input) => input.includes(`node_modules/${pkg}/`)).map((input) => input.split(`node_modules/${pkg}/`)[1]!);
    const zod = of('zod');
    // The check sees zod where it is: its schemas, and the one locale in use (English, zod's default).
    expect(zod).toContain('v4/classic/schemas.js');
    expect(zod.filter((file) => file.startsWith('v4/locales/'))).toEqual(['v4/locales/en.js']);
    expect(zod).not.toContain('v4/classic/from-json-schema.js');
    expect(
      of('rate-limiter-flexible')
        .filter((file) => /^lib\/RateLimiter[A-Z]\w*\.js$/.test(file))
        .sort(),
    ).toEqual(['lib/RateLimiterAbstract.js', 'lib/RateLimiterMemory.js', 'lib/RateLimiterRes.js']);
  });

  it('graphql is bundled once, as its ES modules, whoever imports or requires it (not its CommonJS build: all of it at each start, and a namespace copy per importer)', () => {
    const graphql = Object.values(outputs).flatMap((output) =>
      Object.keys(output.inputs).filter((input) => input.includes('node_modules/graphql/')),
    );
    expect(graphql).toContain('node_modules/graphql/execution/execute.mjs');
    expect(graphql.filter((input) => !input.endsWith('.mjs'))).toEqual([]);
    // One copy of each module: no file of it in two chunks.
    expect(new Set(graphql).size).toBe(graphql.length);
  });

  it('the check sees the server where it is: stratctl serve loads yoga, Pothos and the HTTP adapter', () => {
    const inputs = serverParts(loadedInputs(['src/cli.ts', 'src/cli/main.ts', 'src/cli/serve.ts']));
    for (const part of ['node_modules/graphql-yoga/', 'node_modules/@pothos/core/', 'src/http/'])
      expect(
        inputs.some((input) => input.includes(part)),
        part,
      ).toBe(true);
  });
});
