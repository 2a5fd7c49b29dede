import { describe, expect, it } from 'vitest';
import { gql } from '../helpers/http.js';
import { startTestServer } from '../helpers/server.js';

const STATUS = '{ status { configVersion } }';
const WRONG = 'wrong-token-0123456789abcdef';

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - started };
}

describe('failed authentication is slowed, then refused', () => {
  it('answers 429 RATE_LIMITED with Retry-After once over the threshold, to every request of that client, then recovers', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 4, lockoutMs: 1_500, slowdownStepMs: 150 } } });
    const attempts = [];
    for (let i = 0; i < 4; i++) attempts.push(await timed(() => server.gql(STATUS, undefined, WRONG)));
    expect(attempts.map((a) => a.value.status)).toEqual([401, 401, 401, 401]);
    // Past half the budget each attempt waits longer: the 4th waits 2 steps.
    expect(attempts[3]!.ms).toBeGreaterThanOrEqual(290);

    const refused = await server.gql(STATUS, undefined, WRONG);
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({
      errors: [{ message: 'Too many failed authentication attempts', extensions: { code: 'RATE_LIMITED' } }],
    });
    expect(refused.headers.get('retry-after')).toBe('2');
    // The right token from the same client is refused too while locked out: guessing cannot go on.
    expect((await server.gql(STATUS)).status).toBe(429);
    expect((await server.gql(STATUS, undefined, null)).status).toBe(429);

    await new Promise((r) => setTimeout(r, 1_600));
    const recovered = await server.gql(STATUS);
    expect(recovered.status).toBe(200);
    expect(recovered.body.data).toEqual({ status: { configVersion: 1 } });
    expect((await server.gql(STATUS, undefined, WRONG)).status).toBe(401);
  });

  it('counts a mutation without a token as a failure, and successes do not count', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 2, slowdownStepMs: 1 } } });
    for (let i = 0; i < 5; i++) expect((await server.gql(STATUS)).status).toBe(200);
    const activate = 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }';
    expect((await server.gql(activate, undefined, null)).status).toBe(401);
    expect((await server.gql(activate, undefined, null)).status).toBe(401);
    expect((await server.gql(activate)).status).toBe(429);
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('counts each failed REST call once, and refuses REST calls with {"detail"}, 429 and Retry-After once over', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 3, slowdownStepMs: 1 } } });
    const activate = () =>
      fetch(`${server.origin}/api/strategy/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WRONG}` },
        body: JSON.stringify({ strategy_key: 'gold' }),
      });
    expect((await activate()).status).toBe(401);
    expect((await activate()).status).toBe(401);
    expect((await fetch(`${server.origin}/api/status`)).status).toBe(200); // 2 failures so far, not 4
    expect((await activate()).status).toBe(401);
    const refused = await activate();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(await refused.json()).toEqual({ detail: 'Too many failed authentication attempts' });
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
  });

  it('behind a TLS proxy, keys on the address the proxy forwarded: one client locked out does not lock out another', async () => {
    const server = await startTestServer({ security: { behindTlsProxy: true, authFailures: { failuresPerMinute: 2, slowdownStepMs: 1 } } });
    const from = (address: string, token: string | undefined) =>
      gql(server.url, STATUS, undefined, { ...(token && { token }), headers: { 'x-forwarded-for': `203.0.113.9, ${address}` } });
    await from('198.51.100.1', WRONG);
    await from('198.51.100.1', WRONG);
    expect((await from('198.51.100.1', server.token)).status).toBe(429);
    expect((await from('198.51.100.2', server.token)).status).toBe(200);
  });

  it('on the REST routes: one count per request (not per inner GraphQL call), and a 429 in their {"detail"} shape', async () => {
    const server = await startTestServer({ security: { authFailures: { failuresPerMinute: 2, slowdownStepMs: 1 } } });
    const activate = () =>
      fetch(`${server.origin}/api/strategy/activate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${WRONG}` },
        body: JSON.stringify({ strategy_key: 'gold' }),
      });
    expect((await activate()).status).toBe(401);
    expect((await activate()).status).toBe(401);
    const refused = await activate();
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await refused.json()).toEqual({ detail: 'Too many failed authentication attempts' });
  });
});
