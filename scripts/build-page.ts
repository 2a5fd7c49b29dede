// `npm run build:page`: bundles the operator page (src/page/) into dist/page/: index.html plus
// content-hashed assets under assets/, each also pre-compressed (.br, .gz) so the server sends
// them compressed without compressing per request. Run by `npm ci` (prepare -> build).
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../', import.meta.url));

export interface BuiltPage {
  outDir: string;
  /** Every file written, relative to outDir, with its size and its compressed sizes. */
  files: { name: string; bytes: number; br: number; gzip: number }[];
}

function compressed(bytes: Uint8Array) {
  return {
    br: brotliCompressSync(bytes, {
      params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength },
    }),
    gzip: gzipSync(bytes, { level: 9 }),
  };
}

/** Builds the page into `outDir` (default dist/page), replacing what was there. */
export async function buildPage(outDir = path.join(root, 'dist', 'page')): Promise<BuiltPage> {
  const result = await build({
    entryPoints: [path.join(root, 'src/page/main.ts')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome111', 'firefox115', 'safari16.4'],
    // Content hashes in the names: the server caches them as immutable, index.html is revalidated.
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    outdir: path.join(outDir, 'assets'),
    write: false,
    metafile: true,
    legalComments: 'eof',
    sourcemap: false,
    absWorkingDir: root,
    logLevel: 'warning',
  });
  const assets = result.outputFiles.map((file) => ({
    name: path.relative(outDir, file.path).split(path.sep).join('/'),
    bytes: file.contents,
  }));
  const script = assets.find((a) => a.name.endsWith('.js'));
  const style = assets.find((a) => a.name.endsWith('.css'));
  if (!script || !style) throw new Error('the page bundle must produce one .js and one .css file');
  const template = await readFile(path.join(root, 'src/page/index.html'), 'utf8');
  const html = template.replace('/assets/main.css', `/${style.name}`).replace('/assets/main.js', `/${script.name}`);
  if (html === template) throw new Error('src/page/index.html must name /assets/main.css and /assets/main.js');

  await rm(outDir, { recursive: true, force: true });
  await mkdir(path.join(outDir, 'assets'), { recursive: true });
  const files: BuiltPage['files'] = [];
  for (const file of [...assets, { name: 'index.html', bytes: new TextEncoder().encode(html) }]) {
    const { br, gzip } = compressed(file.bytes);
    const target = path.join(outDir, file.name);
    await writeFile(target, file.bytes);
    await writeFile(`${target}.br`, br);
    await writeFile(`${target}.gz`, gzip);
    files.push({ name: file.name, bytes: file.bytes.byteLength, br: br.byteLength, gzip: gzip.byteLength });
  }
  const digest = createHash('sha256');
  for (const f of files) digest.update(f.name);
  await writeFile(path.join(outDir, 'manifest.json'), `${JSON.stringify({ build: digest.digest('hex').slice(0, 16), files }, null, 2)}\n`);
  return { outDir, files };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const built = await buildPage(process.argv[2] ? path.resolve(process.argv[2]) : undefined);
  const total = built.files.reduce((sum, f) => ({ bytes: sum.bytes + f.bytes, br: sum.br + f.br, gzip: sum.gzip + f.gzip }), {
    bytes: 0,
    br: 0,
    gzip: 0,
  });
  for (const f of built.files) process.stdout.write(`${f.name}  ${f.bytes} B (br ${f.br} B, gzip ${f.gzip} B)\n`);
  process.stdout.write(
    `operator page -> ${path.relative(root, built.outDir)}: ${total.bytes} B, ${total.br} B with brotli, ${total.gzip} B with gzip\n`,
  );
}
