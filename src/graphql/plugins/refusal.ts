import type { FetchAPI } from 'graphql-yoga';

/**
 * An answer for a request refused before it reached any route: GraphQL's error shape on /graphql,
 * the predecessor's `{"detail": ...}` on its REST routes (/api/...), with the same status and code.
 */
export function refusal(
  fetchAPI: FetchAPI,
  url: URL,
  status: number,
  error: { message: string; code: string },
  headers: Record<string, string> = {},
): Response {
  const body = url.pathname.startsWith('/api/')
    ? { detail: error.message }
    : { errors: [{ message: error.message, extensions: { code: error.code } }] };
  return new fetchAPI.Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...headers },
  });
}
