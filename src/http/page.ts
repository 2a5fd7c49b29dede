import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Exchange } from './exchange.js';
import type { Route } from './router.js';

/**
 * The operator page's Content-Security-Policy: its own script and style only (no inline script,
 * no eval, nothing from another origin), requests to this server only, and Trusted Types
 * enforced with no policy, so an `innerHTML` with a string throws instead of parsing markup
 * (names and reasons come from hand-edited files: the page renders them as text).
 */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': PAGE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

export const IMMUTABLE = 'public, max-age=31536000, immutable';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
};

type Coding = 'br' | 'gzip';

interface PageFile {
  readonly contentType: string;
  readonly cacheControl: string;
  readonly etag: string;
  readonly identity: Uint8Array;
  readonly encoded: Partial<Record<Coding, Uint8Array>>;
}

/** What the page answers, in the shape a route table can hand to any adapter (status, lower-case headers, body). */
export interface PageReply {
  status: number;
  headers: Record<string, string>;
  body: Uint8Array | string | null;
}

/** The best coding the client accepts among those we have (`Accept-Encoding` q-values; br before gzip on a tie). */
export function pickEncoding(acceptEncoding: string | undefined, available: readonly Coding[]): Coding | null {
  if (!acceptEncoding) return null;
  const q = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam ? Number(qParam.slice(2)) : 1;
    q.set(name.trim(), Number.isFinite(value) ? value : 0);
  }
  let best: Coding | null = null;
  let bestWeight = 0;
  for (const coding of available) {
    const weight = q.get(coding) ?? q.get('*') ?? 0;
    if (weight > bestWeight) {
      best = coding;
      bestWeight = weight;
    }
  }
  return best;
}

/** The package's root (where package.json is), from this file in src/http/ or its build in dist/. */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('package.json not found above the operator page module');
    dir = parent;
  }
  return dir;
}

export const DEFAULT_PAGE_DIR = () => path.join(packageRoot(), 'dist', 'page');

async function loadFile(file: string, cacheControl: string): Promise<PageFile> {
  const identity = await readFile(file);
  const encoded: PageFile['encoded'] = {};
  for (const [coding, ext] of [
    ['br', '.br'],
    ['gzip', '.gz'],
  ] as const) {
    encoded[coding] = await readFile(file + ext).catch(() => undefined);
  }
  return {
    contentType: CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream',
    cacheControl,
    etag: `"${createHash('sha256').update(identity).digest('base64url').slice(0, 22)}"`,
    identity,
    encoded,
  };
}

/** The built page in memory: `/` (revalidated every time) and `/assets/<hashed name>` (immutable). */
async function loadPage(dir: string): Promise<Map<string, PageFile>> {
  const files = new Map<string, PageFile>();
  files.set('/', await loadFile(path.join(dir, 'index.html'), 'no-cache'));
  for (const name of await readdir(path.join(dir, 'assets'))) {
    if (name.endsWith('.br') || name.endsWith('.gz')) continue;
    files.set(`/assets/${name}`, await loadFile(path.join(dir, 'assets', name), IMMUTABLE));
  }
  return files;
}

const jsonError = (status: number, code: string, message: string, headers: Record<string, string> = {}): PageReply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  body: JSON.stringify({ errors: [{ message, extensions: { code } }] }),
});

export interface OperatorPageOptions {
  /** The built page (default: dist/page beside package.json). */
  dir?: string;
}

export interface PageRequest {
  method: string;
  path: string;
  acceptEncoding?: string;
  ifNoneMatch?: string;
}

/**
 * Serves the operator page: GET/HEAD `/` and `/assets/*`, pre-compressed (br, gzip), with ETags,
 * the page `no-cache` and hashed assets immutable, a strict CSP on everything. `handles` says
 * whether a path is the page's; `reply` answers it. Loaded on first use and kept (a build is
 * immutable); a missing build answers 503 and is looked for again on the next request.
 */
export function createOperatorPage(options: OperatorPageOptions = {}) {
  let loading: Promise<Map<string, PageFile>> | null = null;
  const files = () => {
    loading ??= loadPage(options.dir ?? DEFAULT_PAGE_DIR()).catch((err: unknown) => {
      loading = null;
      throw err;
    });
    return loading;
  };

  const handles = (urlPath: string) => urlPath === '/' || urlPath.startsWith('/assets/');

  async function reply(request: PageRequest): Promise<PageReply> {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return jsonError(405, 'METHOD_NOT_ALLOWED', 'Method Not Allowed', { allow: 'GET, HEAD' });
    }
    let page: Map<string, PageFile>;
    try {
      page = await files();
    } catch {
      return jsonError(503, 'UNAVAILABLE', 'The operator page is not built: run `npm run build:page`');
    }
    const file = page.get(request.path);
    if (!file) return jsonError(404, 'NOT_FOUND', 'Not Found');
    const headers: Record<string, string> = {
      ...SECURITY_HEADERS,
      'content-type': file.contentType,
      'cache-control': file.cacheControl,
      etag: file.etag,
      vary: 'Accept-Encoding',
    };
    if (request.ifNoneMatch?.split(',').some((tag) => tag.trim() === file.etag)) return { status: 304, headers, body: null };
    const coding = pickEncoding(request.acceptEncoding, Object.keys(file.encoded) as Coding[]);
    const body = coding ? file.encoded[coding]! : file.identity;
    if (coding) headers['content-encoding'] = coding;
    // HEAD gets the body too: the writer sends its Content-Length (as GET's) and not the bytes.
    return { status: 200, headers, body };
  }

  return { handles, reply };
}

export type OperatorPage = ReturnType<typeof createOperatorPage>;

const PAGE_METHODS = ['GET', 'HEAD'] as const;

/** The page's routes in the adapter's route table (the Host check and compression are the chain's). */
export function pageRoutes(page: OperatorPage): Route[] {
  const header = (exchange: Exchange, name: string) => {
    const value = exchange.req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const handle = (exchange: Exchange) =>
    page.reply({
      method: exchange.method,
      path: exchange.path,
      acceptEncoding: header(exchange, 'accept-encoding'),
      ifNoneMatch: header(exchange, 'if-none-match'),
    });
  return [
    { path: '/', methods: PAGE_METHODS, handle },
    { path: '/assets/', methods: PAGE_METHODS, handle },
  ];
}
