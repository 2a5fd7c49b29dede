import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, Kind, print } from 'graphql';

/** The failed-auth limit's refusal (src/http/steps/auth-failure-limit.ts, RATE_LIMITED_MESSAGE): a 429 that is the token's. */
export const FAILED_AUTH_LIMITED = 'Too many failed authentication attempts';

/** A request with no answer (its response's headers) within this long is given up (fetchAnswered)... */
export const NO_ANSWER_MS = 5_000;
/** ...a read is then asked again, up to this many times in all... */
export const READ_ATTEMPTS = 3;
/** ...and a change is given up after this long: not confirmed, it may or may not have been applied (the page says so). */
export const CHANGE_NO_ANSWER_MS = 30_000;

/** What fetchAnswered rejects with when its time ran out. */
export class NoAnswerError extends Error {
  constructor(readonly ms: number) {
    super(`no answer from the server within ${ms / 1000} s`);
  }
}

/**
 * `fetch`, refused (NoAnswerError) once `ms` pass without the response's headers (the body, a
 * stream, may then run on), and aborted, body and all, when `init.signal` or any of `also` is.
 */
export async function fetchAnswered(input: RequestInfo | URL, init: RequestInit, ms: number, ...also: AbortSignal[]): Promise<Response> {
  const controller = new AbortController();
  for (const outer of [init.signal, ...also]) {
    if (!outer) continue;
    if (outer.aborted) controller.abort(outer.reason);
    else outer.addEventListener('abort', () => controller.abort(outer.reason), { once: true });
  }
  const timer = setTimeout(() => controller.abort(new NoAnswerError(ms)), ms);
  try {
    return await fetch(input, { ...init, signal: controller.signal });
  } finally {
    clearTimeout(timer);
  }
}

/** One refusal as the API gave it: its message is shown as is. */
export interface ApiError {
  readonly message: string;
  readonly code: string | null;
  readonly extensions: Readonly<Record<string, unknown>>;
}

/**
 * The code (the page's own, as NETWORK is) of an answer that is not the API's: a proxy's page (a
 * 502 or 504 once it passed the request on), or a body that broke off. A change sent may or may not
 * have been applied, as with no answer at all: only the API's own errors say it was refused.
 */
export const NOT_API_ANSWER = 'NOT_API_ANSWER';

/**
 * Whether `errors` leave a change's fate unknown (no answer, one not from the API, or the API's own
 * `outcome: UNKNOWN`: its store was sent the change and did not answer), rather than refuse it.
 */
export function notConfirmed(errors: readonly ApiError[]): boolean {
  return errors.some((e) => e.code === 'NETWORK' || e.code === NOT_API_ANSWER || e.extensions.outcome === 'UNKNOWN');
}

/**
 * The errors' messages as one sentence or more, ended with a full stop, for text that goes on after
 * them ("… Nothing was changed."): the API's messages mostly end without one ("expectedVersion 4
 * is stale: the config is at version 5"), and a notice read "…version 5 Nothing was changed.".
 */
export function errorSentences(errors: readonly ApiError[]): string {
  const words = errors
    .map((e) => e.message.trim())
    .filter((m) => m !== '')
    .join('; ');
  if (words === '') return 'No reason was given.';
  return /[.!?]["')\]]*$/.test(words) ? words : `${words}.`;
}

/** What is known of an answer that is not the API's: its status and type, and why it is not. */
function notTheApis(response: Response, readable: boolean): string {
  const type = response.headers.get('content-type')?.split(';')[0]?.trim();
  const why = readable ? 'it has neither data nor errors' : 'its body is not JSON, or broke off';
  // A proxy refusing a request (too large, forbidden, too many) answers 4xx without passing it on;
  // a 502 or 504 comes after it did. Neither is certain: only the hint is given.
  const hint =
    response.status >= 400 && response.status < 500
      ? ' A 4xx not from the API most often comes from a proxy that did not pass the request on.'
      : '';
  return `The answer (HTTP ${response.status}${type ? `, ${type}` : ''}) is not the API's: ${why}.${hint}`;
}

/** A request refused or not answered: `status` 0 when no answer came (NETWORK: none within the bound, or the server could not be reached). */
export type ApiFailure = { ok: false; status: number; errors: readonly ApiError[] };
export type ApiResult<R> = { ok: true; data: R } | ApiFailure;

const texts = new WeakMap<DocumentNode, { query: string; operationName: string | undefined }>();

/** Whether `document`'s operation is a mutation (a change: never sent twice by the page on its own). */
function isChange(document: DocumentNode): boolean {
  return document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION && d.operation === 'mutation');
}

/** A typed document's text and operation name (printed once). */
export function documentText(document: DocumentNode): { query: string; operationName: string | undefined } {
  let text = texts.get(document);
  if (!text) {
    const operation = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION);
    text = { query: print(document), operationName: operation?.name?.value };
    texts.set(document, text);
  }
  return text;
}

function errorsOf(body: unknown): ApiError[] {
  const errors = (body as { errors?: unknown })?.errors;
  if (!Array.isArray(errors)) return [];
  return errors.map((e) => {
    const extensions = (e as { extensions?: Record<string, unknown> })?.extensions ?? {};
    return {
      message: String((e as { message?: unknown })?.message ?? 'Unexpected error.'),
      code: typeof extensions.code === 'string' ? extensions.code : null,
      extensions,
    };
  });
}

/**
 * What a refusal of the token is told as: the server's words, and when the token expired for a
 * named token past its expiry (`extensions.expiredAt`): a token refused like a wrong one left the
 * operator guessing at a typo or a revocation.
 */
export function tokenRefusal(error: { message?: unknown; extensions?: unknown } | undefined): string {
  const message = typeof error?.message === 'string' ? error.message : 'Authentication required';
  const expiredAt = (error?.extensions as { expiredAt?: unknown } | undefined)?.expiredAt;
  return typeof expiredAt === 'string' ? `${message}: it expired at ${expiredAt.slice(0, 40)}` : message;
}

export interface ApiOptions {
  endpoint: string;
  token: () => string | null;
  /** A 401 for a request that carried a token: the token is no good any more. */
  onUnauthorized: (message: string) => void;
}

/** Runs typed documents (from codegen, operations/*.graphql) over POST; no query text is written here. */
export class Api {
  constructor(private readonly options: ApiOptions) {}

  /**
   * Runs `document`; with `candidate`, with that token instead of the page's (a token being
   * checked before it is used: a refusal of it is the caller's to report, not onUnauthorized's).
   */
  async run<R, V extends Record<string, unknown>>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    candidate?: string,
  ): Promise<ApiResult<R>> {
    const { query, operationName } = documentText(document);
    const token = candidate ?? this.options.token();
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (token) headers.authorization = `Bearer ${token}`;
    const init: RequestInit = {
      method: 'POST',
      headers,
      body: JSON.stringify({ query, operationName, variables }),
      cache: 'no-store',
      credentials: 'omit',
    };
    // Bounded: a request the browser sent on a kept-alive connection whose path is gone (a NAT entry
    // lost as a laptop slept, a server host that vanished) gets no answer until TCP gives up, minutes
    // later, and the page waited on it that long: the refetch after the live connection started over
    // never came, and the page said "Live" over what it showed before. A read is asked again (the
    // browser drops the connection it gave up on); a change is not: its fate is unknown (NETWORK).
    const change = isChange(document);
    let response: Response | undefined;
    for (let attempt = 1; response === undefined; attempt++) {
      try {
        response = await fetchAnswered(this.options.endpoint, init, change ? CHANGE_NO_ANSWER_MS : NO_ANSWER_MS);
      } catch (err) {
        const unanswered = err instanceof NoAnswerError;
        if (unanswered && !change && attempt < READ_ATTEMPTS) continue;
        const message = unanswered ? `No answer from the server within ${err.ms / 1000} s.` : 'The server cannot be reached.';
        return { ok: false, status: 0, errors: [{ message, code: 'NETWORK', extensions: {} }] };
      }
    }
    let body: unknown = null;
    let readable = true;
    try {
      body = await response.json();
    } catch {
      // Not JSON (a proxy's HTML page), or the connection broke off mid-body.
      readable = false;
    }
    const errors = errorsOf(body);
    // A 429 RATE_LIMITED on a request with a token is the failed-auth limit refusing a token it
    // did not check (a right one is never refused): as good as a 401 for this token.
    const refusedToken = response.status === 401 || (response.status === 429 && errors[0]?.message === FAILED_AUTH_LIMITED);
    if (refusedToken && token && candidate === undefined) this.options.onUnauthorized(tokenRefusal(errors[0]));
    const data = (body as { data?: R | null } | null)?.data;
    if (errors.length > 0 || data === null || data === undefined) {
      return {
        ok: false,
        status: response.status,
        // Without the API's own errors nothing says the request was refused: "HTTP 504" read as a
        // refusal ("Nothing was changed") of a change a proxy had passed on and the server applied.
        errors: errors.length > 0 ? errors : [{ message: notTheApis(response, readable), code: NOT_API_ANSWER, extensions: {} }],
      };
    }
    return { ok: true, data };
  }
}
