import { request } from 'node:http';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import type { BuiltPage } from '../../scripts/build-page.js';
import { IMMUTABLE, PAGE_CSP } from '../../src/http/page.js';
import { builtPage } from '../helpers/operator-page.js';
import { startTestServer } from '../helpers/server.js';

/** A raw GET (fetch would decompress and hide Content-Encoding; it also sets Host itself). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET') {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
    const req = request(url, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const decode = (r: { headers: Record<string, unknown>; body: Buffer }) =>
  (r.headers['content-encoding'] === 'br'
    ? brotliDecompressSync(r.body)
    : r.headers['content-encoding'] === 'gzip'
      ? gunzipSync(r.body)
      : r.body
  ).toString('utf8');

let page: BuiltPage;
beforeAll(async () => {
  page = await builtPage();
}, 60_000);

describe('GET / (the operator page)', () => {
  it('serves the page compressed, no-cache, with a strict CSP; its hashed assets immutable', async () => {
    const server = await startTestServer({ runner: false, page: { dir: page.outDir } });
    const html = await get(`${server.origin}/`, { 'accept-encoding': 'gzip, deflate, br' });
    expect(html.status).toBe(200);
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html.headers['content-encoding']).toBe('br');
    expect(html.headers['cache-control']).toBe('no-cache');
    expect(html.headers.vary).toBe('Accept-Encoding');
    const csp = String(html.headers['content-security-policy']);
    expect(csp).toBe(PAGE_CSP);
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("require-trusted-types-for 'script'");
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:|\*/);
    expect(html.headers['x-content-type-options']).toBe('nosniff');
    expect(html.headers['x-frame-options']).toBe('DENY');
    const text = decode(html);
    // No inline script: the one script is a hashed file of this server; nothing from another origin.
    expect(text).not.toMatch(/<script(?![^>]*\bsrc="\/assets\/)[^>]*>/);
    expect(text).not.toMatch(/(src|href)="(https?:)?\/\//);
    const assets = [...text.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets).toHaveLength(2);
    for (const asset of assets) {
      expect(asset).toMatch(/^\/assets\/main-[A-Z0-9]{8}\.(js|css)$/);
      const res = await get(`${server.origin}${asset}`, { 'accept-encoding': 'gzip' });
      expect(res.status).toBe(200);
      expect(res.headers['cache-control']).toBe(IMMUTABLE);
      expect(res.headers['content-encoding']).toBe('gzip');
      expect(res.headers['content-type']).toBe(asset.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(decode(res).length).toBe(page.files.find((f) => `/${f.name}` === asset)?.bytes);
    }
    const css = decode(await get(`${server.origin}${assets.find((a) => a.endsWith('.css'))}`, { 'accept-encoding': 'br' }));
    expect(css).not.toMatch(/url\((["']?)(https?:)?\/\//);
  });

  it('negotiates the encoding: br, gzip or none as Accept-Encoding says (q=0 refuses one)', async () => {
    const server = await startTestServer({ runner: false, page: { dir: page.outDir } });
    const plain = await get(`${server.origin}/`);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.toString('utf8')).toContain('<title>strategy-control-plane');
    expect((await get(`${server.origin}/`, { 'accept-encoding': 'gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await get(`${server.origin}/`, { 'accept-encoding': 'br;q=0, gzip' })).headers['content-encoding']).toBe('gzip');
    expect((await get(`${server.origin}/`, { 'accept-encoding': 'identity' })).headers['content-encoding']).toBeUndefined();
    const br = await get(`${server.origin}/`, { 'accept-encoding': '*' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(decode(br)).toBe(plain.body.toString('utf8'));
    expect(Number(br.headers['content-length'])).toBe(br.body.length);
  });

  it('answers 304 to a matching If-None-Match, HEAD without a body, 405 to other methods, 404 to an unknown asset', async () => {
    const server = await startTestServer({ runner: false, page: { dir: page.outDir } });
    const first = await get(`${server.origin}/`);
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await get(`${server.origin}/`, { 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    const head = await get(`${server.origin}/`, {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    // GET's length, as every other HEAD here (it had none).
    expect(head.headers['content-length']).toBe(first.headers['content-length']);
    expect(Number(head.headers['content-length'])).toBe(first.body.length);
    const brHead = await get(`${server.origin}/`, { 'accept-encoding': 'br' }, 'HEAD');
    const brGet = await get(`${server.origin}/`, { 'accept-encoding': 'br' });
    expect([brHead.headers['content-encoding'], brHead.headers['content-length']]).toEqual(['br', String(brGet.body.length)]);
    expect(head.headers['content-security-policy']).toBe(PAGE_CSP);
    const post = await get(`${server.origin}/`, {}, 'POST');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
    const missing = await get(`${server.origin}/assets/main-00000000.js`);
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body.toString('utf8'))).toEqual({ errors: [{ message: 'Not Found', extensions: { code: 'NOT_FOUND' } }] });
    // The rest of the server is untouched: GraphiQL stays at /graphql, the probes answer.
    expect((await get(`${server.origin}/graphql`, { accept: 'text/html' })).body.toString('utf8')).toContain('GraphiQL');
    expect((await get(`${server.origin}/health`)).status).toBe(200);
  });

  it('is served in production mode too (GraphiQL is not)', async () => {
    const server = await startTestServer({ runner: false, production: true, page: { dir: page.outDir } });
    const res = await get(`${server.origin}/`, { 'accept-encoding': 'br' });
    expect(res.status).toBe(200);
    expect(res.headers['content-security-policy']).toBe(PAGE_CSP);
    expect(decode(res)).toContain('data-testid="live"');
    const graphiql = await get(`${server.origin}/graphql`, { accept: 'text/html' });
    expect(graphiql.body.toString('utf8')).toContain('The GraphQL playground (GraphiQL) is off');
    expect(graphiql.body.toString('utf8')).not.toMatch(/<script/i);
  });

  it('refuses a foreign Host on a loopback-bound server (421), like the API', async () => {
    const server = await startTestServer({ runner: false, page: { dir: page.outDir } });
    const res = await get(`${server.origin}/`, { host: 'evil.example:8787' });
    expect(res.status).toBe(421);
    expect(JSON.parse(res.body.toString('utf8')).errors[0].extensions.code).toBe('MISDIRECTED_REQUEST');
    expect((await get(`${server.origin}/`, { host: `localhost:${new URL(server.origin).port}` })).status).toBe(200);
  });

  it('says the page is not built (503, JSON, naming the command) when the build is missing', async () => {
    const server = await startTestServer({ runner: false, page: { dir: path.join(page.outDir, 'not-here') } });
    const res = await get(`${server.origin}/`);
    expect(res.status).toBe(503);
    expect(JSON.parse(res.body.toString('utf8')).errors[0].message).toContain('npm run build:page');
  });

  it('weighs at most 300 KB compressed, everything it loads included', () => {
    const br = page.files.reduce((sum, f) => sum + f.br, 0);
    const gzip = page.files.reduce((sum, f) => sum + f.gzip, 0);
    const raw = page.files.reduce((sum, f) => sum + f.bytes, 0);
    process.stdout.write(`operator page: ${raw} B raw, ${gzip} B gzip, ${br} B brotli (${page.files.map((f) => f.name).join(', ')})\n`);
    const names = page.files.map((f) => f.name);
    expect(names).toHaveLength(3);
    expect(names).toContain('index.html');
    expect(names.filter((n) => /^assets\/main-\w{8}\.(js|css)$/.test(n))).toHaveLength(2);
    expect(gzip).toBeLessThanOrEqual(300 * 1024);
    expect(br).toBeLessThanOrEqual(gzip);
  });
});
