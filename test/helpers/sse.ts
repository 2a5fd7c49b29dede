/** One server-sent event as yoga's GraphQL over SSE sends it. */
export interface SseEvent {
  event: 'next' | 'complete';
  data: unknown;
}

export interface SseStream {
  readonly response: Response;
  /** The first bytes (yoga's opening ping) arrived: the subscription is set up on the server. */
  readonly ready: Promise<void>;
  /** The next `count` events (fewer when the stream ends first). */
  take(count: number): Promise<SseEvent[]>;
  /** Resolves once the stream has ended (by the server), with every event received. */
  readonly ended: Promise<SseEvent[]>;
  close(): void;
}

/** POSTs a subscription with `Accept: text/event-stream` and reads its events as they come. */
export async function openSse(url: string, query: string, options: { token?: string; variables?: unknown } = {}): Promise<SseStream> {
  const abort = new AbortController();
  const response = await fetch(url, {
    method: 'POST',
    signal: abort.signal,
    headers: {
      'content-type': 'application/json',
      accept: 'text/event-stream',
      ...(options.token && { authorization: `Bearer ${options.token}` }),
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const received: SseEvent[] = [];
  const waiters = new Set<() => void>();
  let onReady!: () => void;
  const ready = new Promise<void>((resolve) => {
    onReady = resolve;
  });
  let finished = false;
  const ended = (async () => {
    if (!response.body) return received;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        onReady();
        buffer += decoder.decode(value, { stream: true });
        for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
          const lines = buffer.slice(0, end).split('\n');
          buffer = buffer.slice(end + 2);
          const event = lines.find((l) => l.startsWith('event: '))?.slice(7);
          const data = lines
            .find((l) => l.startsWith('data:'))
            ?.slice(5)
            .trim();
          if (event === 'next' || event === 'complete') {
            received.push({ event, data: data ? JSON.parse(data) : null });
            for (const wake of waiters) wake();
          }
        }
      }
    } catch {
      // aborted by close()
    }
    finished = true;
    onReady();
    for (const wake of waiters) wake();
    return received;
  })();
  return {
    response,
    ready,
    ended,
    take: async (count) => {
      while (received.length < count && !finished) {
        await new Promise<void>((resolve) => {
          const wake = () => {
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        });
      }
      return received.slice(0, count);
    },
    close: () => abort.abort(),
  };
}
