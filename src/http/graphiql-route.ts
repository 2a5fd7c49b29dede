import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';
import type { Exchange, Reply } from './exchange.js';
import type { Route } from './router.js';
import { type Coding, negotiateEncoding } from './steps/compression.js';

const brotli = promisify(brotliCompress);
const gzipAsync = promisify(gzip);
// Compressed once per process, so the best levels are worth it: 9 MB -> about 1.9 MB (br) or 2.4 MB (gzip).
const ENCODE: Record<Coding, (bytes: Buffer) => Promise<Buffer>> = {
  br: (bytes) => brotli(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 9, [constants.BROTLI_PARAM_SIZE_HINT]: bytes.byteLength } }),
  gzip: (bytes) => gzipAsync(bytes, { level: 9 }),
};

/**
 * The playground's own protections, as far as GraphiQL allows: it runs inline scripts and blob
 * workers, so no script policy as strict as the operator page's; but no other site may frame it
 * (a page that frames it could trick a click into a mutation with a pasted token), nothing is
 * sniffed, and no Referer leaves it.
 */
export const PLAYGROUND_SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Yoga's rule: a GET (here also HEAD) that accepts HTML gets the page; everything else is GraphQL. */
const wantsPage = (exchange: Exchange) =>
  (exchange.method === 'GET' || exchange.method === 'HEAD') && (exchange.req.headers.accept ?? '').includes('text/html');

/** `If-None-Match` names this tag (a list, `*`, or a weak form of it). */
function matches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}

/**
 * GraphiQL (render-graphiql: its assets inline, no CDN), rendered once: the page never changes while
 * the process runs. It is 9 MB, so it is sent compressed (br or gzip, each compressed once, on first
 * use, off the event loop) and with an ETag: `Cache-Control: no-cache` makes a browser revalidate
 * every load, and an unchanged page answers 304 with no body. A new version of the server (a new
 * page) has a new ETag.
 */
export function graphiqlRoute(options: Record<string, unknown>): Route {
  // Rendered on first use (a server that never shows it never holds it).
  let rendered: { page: Buffer; headers: Record<string, string> } | undefined;
  const render = async () => {
    // Imported on first use too: the bundled GraphiQL is ~30 MB of heap.
    const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
    const page = Buffer.from(renderGraphiQL(options));
    const etag = `"${createHash('sha256').update(page).digest('base64url').slice(0, 32)}"`;
    return {
      page,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        etag,
        vary: 'Accept, Accept-Encoding',
        ...PLAYGROUND_SECURITY_HEADERS,
      },
    };
  };
  const encoded = new Map<Coding, Promise<Buffer>>();
  return {
    path: '/graphql',
    methods: ['GET', 'HEAD'],
    accepts: wantsPage,
    handle: async (exchange): Promise<Reply> => {
      rendered ??= await render();
      const { page, headers } = rendered;
      if (matches(exchange.req.headers['if-none-match'], headers.etag as string))
        return { status: 304, headers: { ...headers }, body: null };
      const coding = negotiateEncoding(exchange.req.headers['accept-encoding']);
      if (!coding) return { status: 200, headers: { ...headers }, body: page };
      let body = encoded.get(coding);
      if (!body) {
        body = ENCODE[coding](page);
        encoded.set(coding, body);
        body.catch(() => encoded.delete(coding)); // try again next time
      }
      return { status: 200, headers: { ...headers, 'content-encoding': coding }, body: await body };
    },
  };
}

/** What a browser opening /graphql is shown in production mode (no script, nothing loaded). */
const PRODUCTION_NOTICE = Buffer.from(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>strategy-control-plane: GraphQL endpoint</title></head>
<body>
<h1>GraphQL endpoint</h1>
<p>The GraphQL playground (GraphiQL) is off: this server runs in production mode (<code>--production</code>).</p>
<p>Send GraphQL here as <code>POST</code> with <code>Content-Type: application/json</code>, for example:</p>
<pre>curl -s -H 'content-type: application/json' -d '{"query":"{ status { activeStrategyKey configVersion } }"}' &lt;this URL&gt;</pre>
<p>The operator page is at <a href="/">/</a>; <code>stratctl</code> talks to this endpoint too.</p>
</body>
</html>
`);

/**
 * Production mode: a browser that opens /graphql (a GET or HEAD that accepts HTML and asks no
 * query) is told why there is no playground and where to go, instead of yoga's "Must provide
 * query string." as JSON. A GET with a query is still GraphQL.
 */
export function productionPlaygroundNotice(): Route {
  return {
    path: '/graphql',
    methods: ['GET', 'HEAD'],
    accepts: (exchange) => wantsPage(exchange) && !new URLSearchParams(exchange.target.slice(exchange.path.length + 1)).has('query'),
    handle: (): Reply => ({
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-cache',
        vary: 'Accept',
        ...PLAYGROUND_SECURITY_HEADERS,
        'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      },
      body: PRODUCTION_NOTICE,
    }),
  };
}
