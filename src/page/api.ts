import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type DocumentNode, Kind, print } from 'graphql';

/** The failed-auth limit's refusal (src/http/steps/auth-failure-limit.ts, RATE_LIMITED_MESSAGE): a 429 that is the token's. */
export const FAILED_AUTH_LIMITED = 'Too many failed authentication attempts';

/** One refusal as the API gave it: its message is shown as is. */
export interface ApiError {
  readonly message: string;
  readonly code: string | null;
  readonly extensions: Readonly<Record<string, unknown>>;
}

export type ApiResult<R> = { ok: true; data: R } | { ok: false; status: number; errors: readonly ApiError[] };

const texts = new WeakMap<DocumentNode, { query: string; operationName: string | undefined }>();

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
    let response: Response;
    try {
      response = await fetch(this.options.endpoint, {
        method: 'POST',
        headers,
        body: JSON.stringify({ query, operationName, variables }),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      return { ok: false, status: 0, errors: [{ message: 'The server cannot be reached.', code: 'NETWORK', extensions: {} }] };
    }
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    const errors = errorsOf(body);
    // A 429 RATE_LIMITED on a request with a token is the failed-auth limit refusing a token it
    // did not check (a right one is never refused): as good as a 401 for this token.
    const refusedToken = response.status === 401 || (response.status === 429 && errors[0]?.message === FAILED_AUTH_LIMITED);
    if (refusedToken && token && candidate === undefined) this.options.onUnauthorized(errors[0]?.message ?? 'Authentication required');
    const data = (body as { data?: R | null } | null)?.data;
    if (errors.length > 0 || data === null || data === undefined) {
      return {
        ok: false,
        status: response.status,
        errors: errors.length > 0 ? errors : [{ message: `HTTP ${response.status}`, code: null, extensions: {} }],
      };
    }
    return { ok: true, data };
  }
}
