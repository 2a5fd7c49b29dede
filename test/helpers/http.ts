export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  headers: Headers;
  body: { data?: T | null; errors?: { message: string; path?: string[]; extensions?: Record<string, any> }[] };
}

/** POSTs a GraphQL operation the way a client does. */
export async function gql<T = Record<string, any>>(
  url: string,
  query: string,
  variables?: Record<string, unknown>,
  options: { token?: string; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(options.token && { authorization: `Bearer ${options.token}` }),
      ...options.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const text = await res.text();
  let body: GraphQLResponse<T>['body'];
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`non-JSON answer (HTTP ${res.status}): ${text.slice(0, 500)}`);
  }
  return { status: res.status, headers: res.headers, body };
}

/** A text-format access line (`... DEBUG POST /graphql 200 reqId=...`): one per answered request at debug. */
export const ACCESS_LINE = / DEBUG [A-Z]+ \/\S* \d{3} reqId=/;

/** The log lines of request `id` that tell an event (a refusal, a failure), not the request's access line. */
export const eventLines = (lines: readonly string[], id: string) => lines.filter((l) => l.includes(id) && !ACCESS_LINE.test(l));
