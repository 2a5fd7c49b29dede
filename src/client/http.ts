import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
// The printer alone: the whole graphql package costs stratctl ~40 ms of start-up for nothing.
import type { SelectionSetNode } from 'graphql/language/ast.js';
import { print } from 'graphql/language/printer.js';
import { ADMIN_PROOF_CHALLENGE_HEADER, ADMIN_PROOF_HEADER, isAdminTokenProof, newAdminProofChallenge } from '../auth/admin-proof.js';
import { type Answer, CONNECT_TIMEOUT, failedBeforeSending, type Peer, plainRequest } from './request.js';

/** One GraphQL error as the server sends it (DESIGN.md: `extensions.code`, HTTP status). */
export interface GraphQLErrorBody {
  message: string;
  path?: (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

/** Why a request failed, in the terms a caller acts on; stratctl maps each kind to an exit code. */
export type FailureKind = 'unreachable' | 'auth' | 'input' | 'conflict' | 'later' | 'server';

export class ControlPlaneError extends Error {
  override name = 'ControlPlaneError';
  constructor(
    readonly kind: FailureKind,
    message: string,
    /** The HTTP status, when there was an answer. */
    readonly status?: number,
    readonly errors: GraphQLErrorBody[] = [],
    /** A change was sent and no answer came: it may or may not have been applied. */
    readonly answerLost = false,
  ) {
    super(message);
  }
  get code(): string | undefined {
    return this.errors[0]?.extensions?.code;
  }
}

export interface ClientOptions {
  /** The GraphQL endpoint, e.g. http://127.0.0.1:8787/graphql */
  url: string;
  /**
   * Sent as `Authorization: Bearer <token>` only when needed: with a mutation, and with reads once
   * the server has answered 401 to one sent without it (it requires a token for reads).
   */
  token?: string;
  /**
   * The user gave `token` (`--token`, CONTROL_PLANE_TOKEN): it goes with reads too, so a read may ask
   * what only a token may (`audit --last 1000`), and a wrong one fails loudly. The runtime dir's
   * admin.token may be another server's, so reads go without it until a 401 asks for it.
   */
  tokenGiven?: boolean;
  /**
   * Why there is no token to send (the runtime dir's admin token to a non-loopback URL, or an
   * admin.token that cannot be read): told once, when one is needed.
   */
  withheldToken?: string;
  /**
   * `token` is the runtime dir's admin token (`file`): it goes only to a server that proved, on
   * `/health`, that it holds it (auth/admin-proof.ts); to another one it is held back, said once.
   */
  proveAdminToken?: {
    readonly file: string;
    /** The file's token now (as read at the start: trimmed, checked), or undefined when it holds none usable. */
    readonly read?: () => Promise<string | undefined>;
  };
  /** Where that one line goes (stratctl: stderr). */
  notice?: (line: string) => void;
  /** What the requests of one command learned: whether reads need the token; whether the notice was given. */
  session?: ClientSession;
  /** Per request; a server that does not answer in time counts as unreachable. */
  timeoutMs?: number;
  /**
   * Called as a change is sent, with what was sent (`the change was sent to <url>`); the function it
   * returns is called once its answer has come or the request has failed. stratctl: a stop signal
   * meanwhile says the change may or may not have been applied, and ends the command.
   */
  whileChangeOut?: (what: string) => () => void;
}

export interface ClientSession {
  readsNeedToken: boolean;
  noticeGiven: boolean;
  /**
   * The server's proof that it holds the admin token, asked once (until forgetAdminProof): the
   * address it was proved at, where the token then goes, else why the token is held back.
   */
  adminProof?: Promise<AdminProof>;
  /** The runtime dir's admin token as read again after it was replaced (adminTokenReplaced): sent instead of `token`. */
  adminToken?: string;
}

type AdminProof = { readonly provedAt: Peer } | { readonly heldBack: string };

/**
 * The proof is forgotten: the next request that needs the admin token asks for one again. `status
 * --watch` does so each time its stream is lost: whatever answers after that (a restarted server, or
 * another program that took the port meanwhile) proves again before the token goes to it.
 */
export function forgetAdminProof(session: ClientSession | undefined): void {
  if (session) session.adminProof = undefined;
}

/** The token to send when one is needed: the runtime dir's admin token as last read, else the one given. */
const currentToken = (options: ClientOptions): string | undefined => options.session?.adminToken ?? options.token;

/**
 * After a 401: whether the runtime dir's admin token was replaced since it was read (README,
 * "Replacing the admin token": the server follows the file, and the old token is refused from the
 * next request). Then the command goes on with the token the file holds now, proved again before it
 * goes out, and says so once per replacement. `status --watch` read the file once and ended (exit 3)
 * on the first refusal, advising the runtime dir it was already using.
 */
export async function adminTokenReplaced(options: ClientOptions): Promise<boolean> {
  const prove = options.proveAdminToken;
  if (!prove?.read) return false;
  const token = await prove.read().catch(() => undefined);
  if (token === undefined || token === currentToken(options)) return false;
  options.session ??= newSession();
  options.session.adminToken = token;
  forgetAdminProof(options.session);
  options.notice?.(`${prove.file} was replaced: going on with the token it holds now`);
  return true;
}

/** A token to send, and where to: `to`, when it is the runtime dir's admin token, is the address where it was proved. */
export interface Sending {
  readonly token: string | undefined;
  readonly to?: Peer;
}

export const newSession = (): ClientSession => ({ readsNeedToken: false, noticeGiven: false });

/** Whether an operation needs the caller's token whatever the server's read policy: mutations do. */
export function needsToken(document: TypedDocumentNode<any, any>): boolean {
  return document.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'mutation');
}

/** Whether a read sends the token from the start: one the user gave, or the server asked for it (401) before. */
export function readsSendToken(options: ClientOptions, session: ClientSession): boolean {
  return options.tokenGiven === true || session.readsNeedToken;
}

/** The token to send with a request that `needed` one, telling once when it is held back. */
export function tokenFor(options: ClientOptions, needed: boolean): string | undefined {
  if (!needed) return undefined;
  if (options.token) return options.token;
  if (options.withheldToken) noticeOnce(options, options.withheldToken);
  return undefined;
}

/** Why a token is held back, said once per command (the session's one notice). */
function noticeOnce(options: ClientOptions, line: string): void {
  if (options.session?.noticeGiven) return;
  if (options.session) options.session.noticeGiven = true;
  options.notice?.(line);
}

/**
 * The token to send with a request that `needed` one (tokenFor), the runtime dir's admin token only
 * once the server has proved it holds it: asked of `/health` once per command (until
 * forgetAdminProof), before the token first goes out, and then sent to the address the proof came
 * from (`to`), not to what the URL's name resolves to next. A server that cannot be reached for it is
 * "cannot reach" (nothing was sent).
 */
export async function tokenToSend(options: ClientOptions, needed: boolean): Promise<Sending> {
  if (!needed) return { token: undefined };
  const token = currentToken(options);
  if (token && options.proveAdminToken) {
    options.session ??= newSession();
    const session = options.session;
    session.adminProof ??= askAdminProof(options, token, options.proveAdminToken.file);
    const proof = await session.adminProof;
    if ('heldBack' in proof) {
      noticeOnce(options, proof.heldBack);
      return { token: undefined };
    }
    return { token, to: proof.provedAt };
  }
  return { token: tokenFor(options, needed) };
}

async function askAdminProof(options: ClientOptions, token: string, file: string): Promise<AdminProof> {
  const health = new URL('/health', options.url);
  const challenge = newAdminProofChallenge();
  let proof: string | null;
  let reached: Answer['peer'];
  try {
    const response = await plainRequest(health, {
      headers: { [ADMIN_PROOF_CHALLENGE_HEADER]: challenge },
      signal: AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
    });
    proof = response.headers.get(ADMIN_PROOF_HEADER);
    reached = response.peer;
    await response.body?.cancel();
  } catch (err) {
    throw lostRequest(err, false, options, false); // nothing of the command was sent yet
  }
  // For the address and port this socket reached: a proof passed on from the real server elsewhere is for its address.
  if (reached && (await isAdminTokenProof(proof, token, challenge, reached.address, reached.port)))
    return { provedAt: { address: reached.address, family: reached.family } };
  return {
    heldBack: `not sending the admin token from ${file} to ${health.host}: the server there did not prove that it holds this token (another program on that address and port, a server started with another admin token or with CONTROL_PLANE_TOKEN, or a proxy in between); pass --token or set CONTROL_PLANE_TOKEN to send one`,
  };
}

const KIND_BY_CODE: Record<string, FailureKind> = {
  UNAUTHENTICATED: 'auth',
  FORBIDDEN: 'auth',
  // Try again later (stratctl exit 7): the refusal says nothing about the request itself.
  RATE_LIMITED: 'later',
  UNAVAILABLE: 'later',
  BAD_USER_INPUT: 'input',
  // The URL names a host the server does not answer to (`--url http://0.0.0.0:8787/...`): fix the URL.
  MISDIRECTED_REQUEST: 'input',
  // The request is over the server's body limit: the input is too large (exit 2), not a server fault.
  REQUEST_ENTITY_TOO_LARGE: 'input',
  CONFLICT: 'conflict',
};

/** What a proxy answers when the server behind it is down, restarting or slow. */
const GATEWAY_STATUSES = new Set([502, 503, 504]);

/**
 * The control plane answers every failure with GraphQL errors: a 502/503/504 without them (a page, a
 * load balancer's own JSON) is a proxy in front saying the server behind it is down, restarting or
 * slow. Unreachable (stratctl exit 5), not a server bug (1).
 */
const gatewayError = (url: string, status: number) =>
  new ControlPlaneError(
    'unreachable',
    `${url} answered HTTP ${status} from something in front of the control plane (a proxy?), not from the control plane: it is down, restarting or slow behind it`,
    status,
  );

/**
 * A proxy's 502/503/504 to a change says nothing of whether it was forwarded: a 504 is a proxy that
 * forwarded it and gave up waiting; nginx and HAProxy answer 502, and Envoy 503 ("disconnect/reset
 * before headers"), also when the server behind took the request and then closed or reset the
 * connection before its answer (a crash, a restart) — possibly after the commit. So it may have been
 * applied, like an answer lost here (the next step and --json's outcome say so).
 */
const gatewayChangeError = (err: ControlPlaneError) =>
  new ControlPlaneError(
    err.kind,
    `${err.message}; the change may or may not have been applied (a proxy answers so also after forwarding it, when the server behind it ${err.status === 504 ? 'is too slow to answer' : 'stops answering halfway'})`,
    err.status,
    err.errors,
    true,
  );

/** How the message of a proxy's own 429 begins after the URL (stratctl's next step keys on it). */
export const LIMITED_IN_FRONT = 'answered HTTP 429 from something in front of the control plane';

/**
 * A 429 that is not the control plane's GraphQL answer (a proxy's page or its own JSON): something
 * in front of the server rate-limited the request before passing it on. Try again later (exit 7,
 * `RATE_LIMITED`, as the server's own 429), not a server bug (exit 1, "see the server log").
 * `retryAfter`: the answer's Retry-After header, delay-seconds or an HTTP date.
 */
function limitedInFront(url: string, retryAfter: string | null): ControlPlaneError {
  const value = retryAfter?.trim() ?? '';
  const when = /^\d+$/.test(value)
    ? ` in ${Number(value)} s (its Retry-After)`
    : Number.isNaN(Date.parse(value))
      ? ''
      : ` after ${new Date(Date.parse(value)).toISOString()} (its Retry-After)`;
  const message = `${url} ${LIMITED_IN_FRONT} (a proxy?), not from the control plane: it rate-limited the request; try again later${when}`;
  return new ControlPlaneError('later', message, 429, [{ message, extensions: { code: 'RATE_LIMITED' } }]);
}

const printed = new WeakMap<object, string>();
export function queryText(document: TypedDocumentNode<any, any>): string {
  let text = printed.get(document);
  if (text === undefined) {
    text = print(document);
    printed.set(document, text);
  }
  return text;
}

/**
 * POSTs one operation; a network failure or no answer in time is `unreachable`. The token goes
 * with a mutation, and with a read when the user gave it; otherwise a read goes without it, and
 * once more with it if the server answers 401 (reads require a token there), after which the
 * command's further reads carry it from the start.
 */
export async function post(
  options: ClientOptions,
  document: TypedDocumentNode<any, any>,
  variables: unknown,
  init: { accept: string; signal?: AbortSignal },
): Promise<Answer> {
  options.session ??= newSession();
  const needed = needsToken(document) || readsSendToken(options, options.session);
  return sendWithToken(options, needed, (sending) => postOnce(options, document, variables, init, sending));
}

/**
 * Sends a request (`send`, with the token it is given, or none) the way every request goes: a read
 * without the token first, and once more with it if the server answers 401 (after which the
 * command's reads carry it); then, still refused (401: nothing was done) with the runtime dir's
 * admin token and that file replaced since it was read, once more with the token it holds now.
 * The one-shot requests (post) and the watch's stream connections both go through it.
 */
export async function sendWithToken<R extends { status: number; body?: { cancel(): Promise<void> } | null }>(
  options: ClientOptions,
  needed: boolean,
  send: (sending: Sending) => Promise<R>,
): Promise<R> {
  options.session ??= newSession();
  const session = options.session;
  let response = await send(await tokenToSend(options, needed));
  if (response.status !== 401) return response;
  if (!needed) {
    if (!(options.token || options.withheldToken)) return response;
    session.readsNeedToken = true;
    const sending = await tokenToSend(options, true);
    if (sending.token !== undefined) {
      await response.body?.cancel();
      response = await send(sending);
      if (response.status !== 401) return response;
    }
  }
  if (!(await adminTokenReplaced(options))) return response;
  const sending = await tokenToSend(options, true);
  if (sending.token === undefined) return response;
  await response.body?.cancel();
  return send(sending);
}

/** How long a request waits for its whole answer (with `--wait`, the wait's time is added: wait-flag.ts). */
export const REQUEST_TIMEOUT_MS = 30_000;

/**
 * A TLS certificate this client does not accept: a retry never helps (a cron loop retried forever).
 * Node's own host name checks, and OpenSSL's certificate verification codes (X509_V_ERR_* without
 * the prefix) as Node names them.
 */
const TLS_NOT_TRUSTED = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_TLS_CERT_ALTNAME_FORMAT',
  'HOSTNAME_MISMATCH',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'UNABLE_TO_GET_CRL',
  'CRL_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
]);

/**
 * Failures before the request went out (no connection, a certificate refused, a TLS handshake that
 * failed: EPROTO, ERR_SSL_*): nothing was sent. plainRequest marks every failure before the
 * connection was up as such (failedBeforeSending); these codes say so for the other clients.
 */
const NEVER_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EADDRNOTAVAIL',
  'EPROTO',
  CONNECT_TIMEOUT,
  ...TLS_NOT_TRUSTED,
]);

const neverSent = (code: string) => NEVER_SENT.has(code) || code.startsWith('ERR_SSL_');

/** How the message of a refused certificate reads (stratctl's next step keys on it). */
export const TLS_NOT_TRUSTED_MESSAGE = 'its TLS certificate is not accepted';

/** How a connection refused for its TLS certificate (`code`: Node's or OpenSSL's) is said: "cannot reach <url>: ..." follows it. */
export const tlsNotTrusted = (code: string): string | null => (TLS_NOT_TRUSTED.has(code) ? `${TLS_NOT_TRUSTED_MESSAGE} (${code})` : null);

async function postOnce(
  options: ClientOptions,
  document: TypedDocumentNode<any, any>,
  variables: unknown,
  init: { accept: string; signal?: AbortSignal },
  { token, to }: Sending,
): Promise<Answer> {
  let response: Answer;
  const stopped = needsToken(document) ? options.whileChangeOut?.(`the change was sent to ${options.url}`) : undefined;
  try {
    response = await plainRequest(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: init.accept,
        ...(token && { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query: queryText(document), variables: variables ?? {} }),
      signal: init.signal ?? AbortSignal.timeout(options.timeoutMs ?? REQUEST_TIMEOUT_MS),
      ...(token && to && { to }),
    });
  } catch (err) {
    stopped?.();
    throw lostRequest(err, needsToken(document), options, false);
  }
  return refuseRedirect(options.url, stopped ? heardUntilRead(response, stopped) : response);
}

/**
 * The answer to a change, its stop-signal listener (`stopped`) ended only once its body is read
 * whole, cut off, or cancelled: not when its headers arrive. A stop between the two (a proxy that
 * sent the headers and stalls) ended stratctl silently (exit 130/143), though the change may have
 * been committed.
 */
function heardUntilRead(response: Answer, stopped: () => void): Answer {
  const whole = response.text().finally(stopped);
  // Not unhandled when nobody reads it (the caller cancels the body instead).
  whole.catch(() => {});
  const { body } = response;
  return {
    status: response.status,
    headers: response.headers,
    text: () => whole,
    body: body && {
      cancel() {
        stopped();
        return body.cancel();
      },
    },
  };
}

/**
 * What a failed exchange means for the operator. A change that reached the server may have been
 * committed though its answer never came (a proxy that forwards and then stalls, a connection that
 * ends while the server works, an answer cut off halfway): saying "cannot reach" would invite a
 * blind retry. A connection that never opened fails with its own cause (refused, no such host, no
 * route), and nothing was sent. `answering`: the answer had begun (its headers were read).
 */
function lostRequest(err: unknown, change: boolean, options: ClientOptions, answering: boolean): ControlPlaneError {
  const timedOut = (err as Error).name === 'TimeoutError';
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const why = timedOut
    ? 'no answer in time'
    : cause?.code === CONNECT_TIMEOUT
      ? 'no connection in time'
      : (cause?.code ?? cause?.message ?? (err as Error).message);
  const sent = answering || (!failedBeforeSending(err) && (timedOut || (cause?.code !== undefined && !neverSent(cause.code))));
  if (change && sent) {
    const what = timedOut
      ? `no answer from ${options.url} within ${options.timeoutMs ?? REQUEST_TIMEOUT_MS} ms`
      : `the connection to ${options.url} ended without ${answering ? 'the whole answer' : 'an answer'} (${why})`;
    return new ControlPlaneError(
      'unreachable',
      `${what} after the change was sent: it may or may not have been applied`,
      undefined,
      [],
      true,
    );
  }
  const untrusted = cause?.code === undefined ? null : tlsNotTrusted(cause.code);
  if (untrusted) return new ControlPlaneError('unreachable', `cannot reach ${options.url}: ${untrusted}`);
  if (answering) return new ControlPlaneError('unreachable', `the answer from ${options.url} was cut off (${why})`);
  return new ControlPlaneError('unreachable', `cannot reach ${options.url} (${why})`);
}

/**
 * A redirect is never followed (node:http never does; the watch stream's fetch is told not to):
 * following one turns the POST into a GET (302: "Must provide query string."), or re-sends the
 * body, and the token with it, to another URL than the one named. The answer names where it
 * points, and the fix is the URL (stratctl exit 2).
 */
export async function refuseRedirect<T extends Pick<Answer, 'status' | 'headers' | 'body'>>(url: string, response: T): Promise<T> {
  if (response.status < 300 || response.status > 399) return response;
  await response.body?.cancel();
  const location = response.headers.get('location');
  let target: string | null = null;
  try {
    target = location === null ? null : new URL(location, url).href;
  } catch {
    target = null;
  }
  const message = `${url} is not a GraphQL endpoint: it answered HTTP ${response.status}, a redirect${target ? ` to ${target}` : ''} (redirects are not followed, so a token never goes to a URL you did not name)`;
  throw new ControlPlaneError('input', message, response.status, [{ message, extensions: { code: NOT_AN_ENDPOINT } }]);
}

/**
 * `--json`'s code for a URL that is not the GraphQL endpoint, however the wrong server words it (its
 * own 405 said METHOD_NOT_ALLOWED, a 404 NOT_FOUND, a redirect or a page BAD_RESPONSE: a script could
 * not match one code for one mistake).
 */
export const NOT_AN_ENDPOINT = 'NOT_AN_ENDPOINT';

/**
 * 404 or 405 to a GraphQL request: no GraphQL endpoint answers so, so `url` points elsewhere (the
 * server's root, /health, a typo). A usage error (stratctl exit 2), not the server's fault.
 */
export const notAnEndpoint = (status: number) => status === 404 || status === 405;

function notAnEndpointError(url: string, status: number, reason: string | undefined): ControlPlaneError {
  const message = `${url} is not a GraphQL endpoint: it answered HTTP ${status}${reason ? ` (${reason})` : ''}`;
  return new ControlPlaneError('input', message, status, [{ message, extensions: { code: NOT_AN_ENDPOINT } }]);
}

const authError = (status: number, message: string, code: string) =>
  new ControlPlaneError('auth', message, status, [{ message, extensions: { code } }]);

/** One GraphQL result (`{data, errors}` as text) -> its data, or the ControlPlaneError it carries. */
export function resultData<TResult>(url: string, status: number, text: string, retryAfter: string | null = null): TResult {
  let body: GraphQLResultBody<TResult>;
  try {
    body = JSON.parse(text);
  } catch {
    throw notGraphQL(url, status, retryAfter, 'something other than GraphQL JSON');
  }
  return bodyData(url, status, body, retryAfter);
}

/** An answer that is not the control plane's GraphQL (`what` it holds instead): what its status alone says. */
function notGraphQL(url: string, status: number, retryAfter: string | null, what: string): ControlPlaneError {
  if (notAnEndpoint(status)) return notAnEndpointError(url, status, undefined);
  // 401 and 403 say what went wrong whatever the body holds (a proxy's page): authentication or scope, exit 3.
  if (status === 401) return authError(status, 'Authentication required', 'UNAUTHENTICATED');
  if (status === 403) return authError(status, 'Forbidden', 'FORBIDDEN');
  if (GATEWAY_STATUSES.has(status)) return gatewayError(url, status);
  if (status === 429) return limitedInFront(url, retryAfter);
  return new ControlPlaneError('server', `${url} answered HTTP ${status} with ${what}`, status);
}

/** A GraphQL error as the spec has it: an object with a message (the control plane's always has one). */
const readableError = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  typeof (error as { message?: unknown }).message === 'string' &&
  (error as { message: string }).message !== '';

export interface GraphQLResultBody<TResult> {
  data?: TResult | null;
  errors?: readonly GraphQLErrorBody[];
}

/** One parsed GraphQL result -> its data, or the ControlPlaneError it carries. */
export function bodyData<TResult>(
  url: string,
  status: number,
  body: GraphQLResultBody<TResult>,
  retryAfter: string | null = null,
): TResult {
  const errors = Array.isArray(body?.errors) ? body.errors : [];
  // `"errors":[null]` or `[{}]` is not the control plane's answer (something in front, another
  // service): read, it was a TypeError ("Cannot read properties of null") or an empty message, and
  // a change answered so lost its "may or may not have been applied" (execute adds it to this).
  if (!errors.every(readableError))
    throw notGraphQL(url, status, retryAfter, 'errors stratctl cannot read (not GraphQL errors with a message)');
  if (notAnEndpoint(status)) throw notAnEndpointError(url, status, errors[0]?.message);
  if (errors.length > 0) {
    const first = errors[0] as GraphQLErrorBody;
    const kind = KIND_BY_CODE[first.extensions?.code ?? ''] ?? (status === 401 || status === 403 ? 'auth' : 'server');
    throw new ControlPlaneError(kind, first.message, status, [...errors]);
  }
  if (GATEWAY_STATUSES.has(status)) throw gatewayError(url, status);
  if (status === 429) throw limitedInFront(url, retryAfter);
  if (status >= 400 || body?.data === undefined || body.data === null) {
    throw new ControlPlaneError('server', `${url} answered HTTP ${status} without GraphQL data`, status);
  }
  return body.data;
}

/**
 * Sends one typed operation over HTTP and returns its data, or throws a ControlPlaneError.
 * GraphQL over HTTP: POST JSON; errors come back with a status (DESIGN.md's table) and a code.
 */
export async function execute<TResult, TVariables>(
  options: ClientOptions,
  document: TypedDocumentNode<TResult, TVariables>,
  variables?: TVariables,
): Promise<TResult> {
  const response = await post(options, document, variables, { accept: 'application/graphql-response+json, application/json' });
  let text: string;
  try {
    text = await response.text();
  } catch (err) {
    throw lostRequest(err, needsToken(document), options, true);
  }
  const change = needsToken(document);
  try {
    const data = resultData<TResult>(options.url, response.status, text, response.headers.get('retry-after'));
    if (change) answeredWhole(options.url, response.status, document, data);
    return data;
  } catch (err) {
    if (!(err instanceof ControlPlaneError) || !change || err.answerLost) throw err;
    if (err.kind === 'unreachable' && GATEWAY_STATUSES.has(err.status ?? 0)) throw gatewayChangeError(err);
    if (err.kind === 'server' && err.errors.length === 0 && !(err.status !== undefined && err.status >= 400 && err.status < 500))
      throw answeredInItsStead(err);
    throw err;
  }
}

/**
 * A change answered with something other than the control plane's GraphQL answer, neither a refusal
 * before it went on (4xx) nor a gateway's (502/503/504): a proxy's 500 or 520-524 page (Cloudflare's
 * 524 is "the origin took the request and did not answer in time"), a 200 whose body is not the
 * server's. Something in front answered in the server's stead, possibly after forwarding it: as with
 * a gateway's answer, it may or may not have been applied (before, a plain failure: exit 1, no
 * `outcome`, "see the server log", though the change stood).
 */
const answeredInItsStead = (err: ControlPlaneError) =>
  new ControlPlaneError(
    err.kind,
    `${err.message}; the change may or may not have been applied (something in front of the control plane answered in its stead, possibly after forwarding it)`,
    err.status,
    err.errors,
    true,
  );

/**
 * A GraphQL server answers every field it was asked for (null where it failed, with errors; a
 * change's result is never null without them): data without one is not the control plane's answer
 * to this change (another service, another version of the API). Checked through the whole
 * selection, so a command never prints `undefined` for a change that went through, or reports a
 * plain failure for one that may have (execute: it may or may not have been applied).
 */
function answeredWhole(url: string, status: number, document: TypedDocumentNode<any, any>, data: unknown): void {
  const fragments = new Map<string, SelectionSetNode>();
  for (const d of document.definitions) if (d.kind === 'FragmentDefinition') fragments.set(d.name.value, d.selectionSet);
  const operation = document.definitions.find((d) => d.kind === 'OperationDefinition');
  if (operation?.kind !== 'OperationDefinition') return;
  const missing = (value: unknown, selections: SelectionSetNode, at: string): string | null => {
    if (Array.isArray(value)) {
      for (const item of value) {
        const gap = missing(item, selections, at);
        if (gap !== null) return gap;
      }
      return null;
    }
    if (typeof value !== 'object' || value === null) return at || '(data)';
    for (const selection of selections.selections) {
      const inner =
        selection.kind === 'Field'
          ? selection.selectionSet
          : selection.kind === 'InlineFragment'
            ? selection.selectionSet
            : fragments.get(selection.name.value);
      if (selection.kind !== 'Field') {
        const gap = inner === undefined ? null : missing(value, inner, at);
        if (gap !== null) return gap;
        continue;
      }
      const key = selection.alias?.value ?? selection.name.value;
      const path = at ? `${at}.${key}` : key;
      if (!Object.hasOwn(value, key)) return path;
      const field = (value as Record<string, unknown>)[key];
      // A change's result itself is never null without errors; a field below it may be (runnerWait without --wait).
      if (inner !== undefined && (field !== null || at === '')) {
        const gap = missing(field, inner, path);
        if (gap !== null) return gap;
      }
    }
    return null;
  };
  const gap = missing(data, operation.selectionSet, '');
  if (gap !== null) throw new ControlPlaneError('server', `${url} answered HTTP ${status} without the change's result (${gap})`, status);
}
