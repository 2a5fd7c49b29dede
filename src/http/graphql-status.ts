import { GraphQLError } from 'graphql';

interface HttpExtension {
  status?: number;
  headers?: Record<string, string>;
}

function isOriginalGraphQLError(error: unknown): boolean {
  if (!(error instanceof GraphQLError)) return false;
  return error.originalError == null || isOriginalGraphQLError(error.originalError);
}

/**
 * The HTTP status and headers a failed operation answers with: the highest `extensions.http.status`
 * of its errors (the DESIGN error table, set by the masking) and their headers (WWW-Authenticate,
 * Retry-After). An error without one is the client's (400: a variable of the wrong type) when
 * GraphQL raised it, else unexpected (500). The same rule as yoga's own HTTP handling.
 */
export function httpStatusOf(errors: readonly unknown[]): { status: number; headers: Record<string, string> } {
  let status = 0;
  let unexpected = false;
  const headers: Record<string, string> = {};
  for (const error of errors) {
    const http = (error as { extensions?: { http?: HttpExtension; unexpected?: unknown } }).extensions?.http;
    if (http) {
      for (const [name, value] of Object.entries(http.headers ?? {})) headers[name.toLowerCase()] = value;
      if (http.status && http.status > status) status = http.status;
    } else if (!isOriginalGraphQLError(error) || (error as GraphQLError).extensions?.unexpected) {
      unexpected = true;
    }
  }
  if (status === 0) status = unexpected ? 500 : 400;
  return { status, headers };
}
