import { describe, expect, it } from 'vitest';
import { fetchAt, plainRequest } from '../../src/client/request.js';
import { recordingListener } from '../helpers/recording-listener.js';

// stratctl sends the runtime dir's admin token to the address where it was proved (client/http.ts),
// not to what the URL's name resolves to next: here `localhost` is 127.0.0.1, and the request must
// still reach 127.0.0.2 on the same port.
describe('a request to a given address (request.ts: `to`, fetchAt)', () => {
  it('reaches that address whatever the name resolves to', async () => {
    const named = await recordingListener('127.0.0.1', { answer: { status: 200, body: { at: 'named' } } });
    const port = Number(new URL(named.origin).port);
    const given = await recordingListener('127.0.0.2', { port, answer: { status: 200, body: { at: 'given' } } });
    const url = `http://localhost:${port}/graphql`;
    const to = { address: '127.0.0.2', family: 4 } as const;

    const plain = await plainRequest(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000), to });
    expect(JSON.parse(await plain.text())).toEqual({ at: 'given' });
    expect(plain.peer).toEqual({ address: '127.0.0.2', port, family: 4 });

    const streamed = await fetchAt(url, { method: 'POST', body: '{"a":1}', headers: { accept: 'text/event-stream' } }, to);
    expect(streamed.status).toBe(200);
    expect(await streamed.json()).toEqual({ at: 'given' });

    // Without `to`, the name's own address.
    const byName = await plainRequest(url, { method: 'POST', body: '{}', signal: AbortSignal.timeout(10_000) });
    expect(JSON.parse(await byName.text())).toEqual({ at: 'named' });
    expect(given.seen.map((r) => `${r.method} ${r.url} ${r.body}`)).toEqual(['POST /graphql {}', 'POST /graphql {"a":1}']);
    expect(named.seen).toHaveLength(1);
  });
});
