import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { type ClientOptions, ControlPlaneError, post, resultData } from './http.js';

/**
 * Runs a typed subscription over yoga's GraphQL over SSE (the graphql-sse "distinct connections"
 * protocol: one POST, `event: next` per result, `event: complete` at the end) and yields each
 * result's data until `signal` aborts or the server completes. A dropped connection is `unreachable`.
 */
export async function* subscribe<TResult, TVariables>(
  options: ClientOptions,
  document: TypedDocumentNode<TResult, TVariables>,
  variables: TVariables | undefined,
  signal: AbortSignal,
): AsyncGenerator<TResult> {
  const response = await post(options, document, variables, { accept: 'text/event-stream', signal });
  if (!response.ok || !response.headers.get('content-type')?.includes('text/event-stream') || !response.body) {
    resultData(options.url, response.status, await response.text());
    throw new ControlPlaneError('server', `${options.url} did not open an event stream (HTTP ${response.status})`, response.status);
  }
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true }).replaceAll('\r\n', '\n');
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        let event = 'message';
        const data: string[] = [];
        for (const line of block.split('\n')) {
          if (line.startsWith('event:')) event = line.slice(6).trim();
          else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
        }
        if (event === 'complete') return;
        if (event === 'next' && data.length > 0) yield resultData<TResult>(options.url, 200, data.join('\n'));
      }
    }
  } catch (err) {
    if (signal.aborted) return;
    if (err instanceof ControlPlaneError) throw err;
    throw new ControlPlaneError('unreachable', `lost the event stream from ${options.url} (${(err as Error).message})`);
  }
  if (signal.aborted) return;
  throw new ControlPlaneError('unreachable', `${options.url} closed the event stream`);
}
