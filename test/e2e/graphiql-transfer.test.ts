import { request } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../helpers/server.js';

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes as they crossed the wire (not decoded). */
  body: Buffer;
}

/** A GET whose body is read as sent: fetch would decode it and hide the size on the wire. */
function get(url: string, headers: Record<string, string>): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const BROWSER = { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' };
const MB = 1024 * 1024;

describe('GraphiQL page: compressed and cacheable', { timeout: 60_000 }, () => {
  it('br and gzip cut the 9 MB page to under 2.5 MB on the wire; an ETag revalidation transfers nothing', async () => {
    const server = await startTestServer();
    const plain = await get(server.url, BROWSER);
    expect(plain.status).toBe(200);
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.byteLength).toBeGreaterThan(8 * MB);
    expect(plain.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('no-cache');
    const etag = plain.headers.etag as string;
    expect(etag).toMatch(/^"[\w-]{32}"$/);

    const br = await get(server.url, { ...BROWSER, 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.body.byteLength).toBeLessThan(2.5 * MB);
    expect(Number(br.headers['content-length'])).toBe(br.body.byteLength);
    expect(brotliDecompressSync(br.body).equals(plain.body)).toBe(true);
    expect(br.headers.etag).toBe(etag);
    // Once, though the route lists it and the compression step adds it too.
    expect(br.headers.vary).toBe('Accept, Accept-Encoding');
    expect(plain.headers.vary).toBe('Accept, Accept-Encoding');
    // Never framed by another site; nothing sniffed; no Referer.
    for (const answer of [plain, br]) {
      expect(answer.headers['content-security-policy']).toBe("frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      expect(answer.headers['x-frame-options']).toBe('DENY');
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
      expect(answer.headers['referrer-policy']).toBe('no-referrer');
    }

    const gzip = await get(server.url, { ...BROWSER, 'accept-encoding': 'gzip' });
    expect(gzip.headers['content-encoding']).toBe('gzip');
    expect(gzip.body.byteLength).toBeLessThan(2.5 * MB);
    expect(gunzipSync(gzip.body).equals(plain.body)).toBe(true);

    const again = await get(server.url, { ...BROWSER, 'accept-encoding': 'gzip, deflate, br', 'if-none-match': etag });
    expect(again.status).toBe(304);
    expect(again.body.byteLength).toBe(0);
    expect(again.headers.etag).toBe(etag);
    console.log(
      `GraphiQL page on the wire: ${(plain.body.byteLength / MB).toFixed(2)} MB plain, ${(br.body.byteLength / MB).toFixed(2)} MB br, ${(gzip.body.byteLength / MB).toFixed(2)} MB gzip, 0 B revalidated (304)`,
    );

    // GraphQL over GET is still yoga's: no HTML without text/html in Accept.
    const query = await get(`${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}`, { accept: 'application/json' });
    expect(JSON.parse(query.body.toString('utf8'))).toEqual({ data: { status: { configVersion: 1 } } });
  });

  it('production mode serves no GraphiQL page: a browser is told why and where to go; a GET with a query is still GraphQL', async () => {
    const server = await startTestServer({ production: true });
    const res = await get(server.url, BROWSER);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.headers.etag).toBeUndefined();
    expect(res.body.byteLength).toBeLessThan(2048);
    const html = res.body.toString('utf8');
    expect(html).toContain('The GraphQL playground (GraphiQL) is off: this server runs in production mode (<code>--production</code>).');
    expect(html).toContain('<a href="/">/</a>');
    expect(html).not.toContain('<script');
    expect(res.headers['content-security-policy']).toContain("default-src 'none'");
    expect(res.headers['x-frame-options']).toBe('DENY');
    const query = await get(`${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}`, BROWSER);
    expect(query.headers['content-type']).toMatch(/^application\/(graphql-response\+)?json/);
    expect(JSON.parse(query.body.toString('utf8'))).toEqual({ data: { status: { configVersion: 1 } } });
    // A client that does not ask for HTML still gets GraphQL's own answer.
    const api = await get(server.url, { accept: 'application/json' });
    expect(api.headers['content-type']).toMatch(/^application\/json/);
  });
});

/** The options the served page hands GraphiQL (render-graphiql writes them as JSON into its last script). */
function pageOptions(page: Buffer): { defaultQuery: string } {
  const options = /renderYogaGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*(\{.*\}),\s*\);/.exec(page.toString('utf8'));
  expect(options, 'GraphiQL options in the page').not.toBeNull();
  return JSON.parse(options![1]!);
}

describe("GraphiQL page: the default query's comment follows --reads-require-token", { timeout: 60_000 }, () => {
  it('reads open: says so, and how to give a token for mutations', async () => {
    const server = await startTestServer();
    const { defaultQuery } = pageOptions((await get(server.url, BROWSER)).body);
    expect(defaultQuery).toMatch(/^# strategy-control-plane\. Reads are open; mutations need a token:\n# open the "Headers" tab below/);
    expect(defaultQuery).not.toMatch(/Re-fetch/);
    expect(defaultQuery).toContain('query Overview {');
    // Where the token is: the server's --runtime-dir (here a temp dir, not ./runtime), without its path.
    expect(server.runtimeDir).not.toMatch(/(^|\/)runtime$/);
    expect(defaultQuery).toContain("# (the token is in admin.token in the server's --runtime-dir, ./runtime by default,\n");
    expect(defaultQuery).not.toContain('runtime/admin.token');
    expect(defaultQuery).not.toContain(server.runtimeDir);
  });

  it('reads need a token: says so, how to put it in the Headers tab, and to re-fetch the schema after', async () => {
    const server = await startTestServer({ readsRequireToken: true });
    const { defaultQuery } = pageOptions((await get(server.url, BROWSER)).body);
    expect(defaultQuery).toMatch(/^# strategy-control-plane\. This server needs a token for reads too \(--reads-require-token\):\n/);
    expect(defaultQuery).not.toMatch(/Reads are open/);
    expect(defaultQuery).toContain('# open the "Headers" tab below and enter {"Authorization": "Bearer <token>"}');
    expect(defaultQuery).toContain('press "Re-fetch GraphQL schema"');
    expect(defaultQuery).toContain('query Overview {');
  });
});
