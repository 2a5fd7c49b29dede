import { request } from 'node:http';
import { describe, expect, it } from 'vitest';
import { hostnameOf } from '../../src/http/steps/host-check.js';
import { json, rawRequest } from '../helpers/raw-http.js';
import { startTestServer } from '../helpers/server.js';

/** A GET with a Host header of our choosing (fetch does not let a caller set it). */
function getWithHost(url: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { host, accept: 'application/json' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('DNS-rebinding guard (server bound to loopback)', () => {
  it('answers loopback names and refuses any other Host with 421 before anything runs', async () => {
    const server = await startTestServer();
    const port = new URL(server.url).port;
    const query = `${server.url}?query=${encodeURIComponent('{ status { configVersion } }')}`;
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LOCALHOST:${port}`, `[::1]:${port}`]) {
      expect((await getWithHost(query, host)).status, host).toBe(200);
    }
    for (const host of [`rebind.attacker.example:${port}`, 'attacker.example', `127.0.0.1.attacker.example:${port}`]) {
      const res = await getWithHost(query, host);
      expect(res.status, host).toBe(421);
      expect(JSON.parse(res.body).errors[0].extensions.code).toBe('MISDIRECTED_REQUEST');
    }
    // The REST routes sit behind the same guard.
    expect((await getWithHost(`${server.origin}/api/status`, 'attacker.example')).status).toBe(421);
  });

  it('refuses a request with two Host fields (400, RFC 9112), whichever comes first: a proxy reading the last would judge another host', async () => {
    const server = await startTestServer();
    const port = new URL(server.url).port;
    for (const [first, second] of [
      [`127.0.0.1:${port}`, 'attacker.example'],
      ['attacker.example', `127.0.0.1:${port}`],
      [`127.0.0.1:${port}`, `127.0.0.1:${port}`],
    ]) {
      const res = await rawRequest(server.origin, `GET /health HTTP/1.1\r\nHost: ${first}\r\nhost: ${second}\r\nConnection: close\r\n\r\n`);
      expect({ first, second, status: res.status }).toEqual({ first, second, status: 400 });
      expect(json(res).errors[0]).toEqual({ message: 'Bad Host header: expected host[:port]', extensions: { code: 'BAD_REQUEST' } });
    }
    const one = await rawRequest(server.origin, `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
    expect(one.status).toBe(200);
  });

  it('refuses a request with two Authorization fields (400), whichever is right: a proxy reading the last would see another token than the one authenticated', async () => {
    const server = await startTestServer();
    const port = new URL(server.url).port;
    const body = JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }' });
    const post = (authorizations: string[]) =>
      rawRequest(
        server.origin,
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n${authorizations.map((a) => `${a}\r\n`).join('')}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
        body,
      );
    for (const pair of [
      [`Authorization: Bearer ${server.token}`, 'Authorization: Bearer wrong-token-0123456789'],
      ['Authorization: Bearer wrong-token-0123456789', `authorization: Bearer ${server.token}`],
      [`Authorization: Bearer ${server.token}`, `AUTHORIZATION: Bearer ${server.token}`],
    ]) {
      const res = await post(pair);
      expect({ pair, status: res.status }).toEqual({ pair, status: 400 });
      expect(json(res).errors[0]).toEqual({
        message: 'Bad Authorization header: given more than once (send one)',
        extensions: { code: 'BAD_REQUEST' },
      });
    }
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
    expect(server.refusals()['bad-authorization']).toBe(3);
    const one = await post([`Authorization: Bearer ${server.token}`]);
    expect(one.status).toBe(200);
    expect(server.store.state().config.config.activeStrategyKey).toBe('gold');
  });

  it('refuses a request with two Content-Type fields (400): a proxy reading the last would parse the body as another type than this server did', async () => {
    const server = await startTestServer();
    const port = new URL(server.url).port;
    const body = JSON.stringify({ query: 'mutation { activateStrategy(strategyKey: "gold") { configVersion } }' });
    const post = (types: string[]) =>
      rawRequest(
        server.origin,
        `POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${server.token}\r\n${types.map((t) => `${t}\r\n`).join('')}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`,
        body,
      );
    for (const pair of [
      ['Content-Type: application/json', 'Content-Type: text/plain'],
      ['content-type: text/plain', 'Content-Type: application/json'],
      ['Content-Type: application/json', 'CONTENT-TYPE: application/json'],
    ]) {
      const res = await post(pair);
      expect({ pair, status: res.status }).toEqual({ pair, status: 400 });
      expect(json(res).errors[0]).toEqual({
        message: 'Bad Content-Type header: given more than once (send one)',
        extensions: { code: 'BAD_REQUEST' },
      });
    }
    expect(server.store.state().config.config.activeStrategyKey).toBe('momentum');
    expect(server.refusals()['bad-content-type']).toBe(3);
    const one = await post(['Content-Type: application/json']);
    expect(one.status).toBe(200);
    expect(server.store.state().config.config.activeStrategyKey).toBe('gold');
  });

  it('refuses an HTTP/1.1 request without Host (400) and one with an Expect other than 100-continue (417) in the chain: a JSON body, a request id, counted by reason', async () => {
    const server = await startTestServer();
    const refused = async (reason: string, status: number) => {
      const text = await (await fetch(`${server.origin}/metrics`)).text();
      return Number(
        new RegExp(`^control_plane_http_refusals_total\\{reason="${reason}",status="${status}"\\} (\\d+)$`, 'm').exec(text)?.[1] ?? 0,
      );
    };
    // Node answered both itself, outside the chain: an empty body, no request id, not counted.
    const noHost = await rawRequest(server.origin, 'GET /health HTTP/1.1\r\nConnection: close\r\n\r\n');
    expect(noHost.status).toBe(400);
    expect(json(noHost).errors[0]).toEqual({ message: 'Bad Host header: expected host[:port]', extensions: { code: 'BAD_REQUEST' } });
    expect(noHost.headers['x-request-id']).toMatch(/\S/);
    expect(await refused('bad-host', 400)).toBe(1);

    const port = new URL(server.url).port;
    const expectFoo = await rawRequest(
      server.origin,
      `GET /health HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nExpect: foo\r\nConnection: close\r\n\r\n`,
    );
    expect(expectFoo.status).toBe(417);
    expect(json(expectFoo).errors[0]).toEqual({
      message: 'Expectation not met: only "Expect: 100-continue" is understood',
      extensions: { code: 'BAD_REQUEST' },
    });
    expect(expectFoo.headers['x-request-id']).toMatch(/\S/);
    expect(await refused('bad-expectation', 417)).toBe(1);
  });

  it('parses Host headers into names', () => {
    expect(hostnameOf('Example.COM:8787')).toBe('example.com');
    expect(hostnameOf('[::1]:8787')).toBe('::1');
    expect(hostnameOf('127.0.0.1')).toBe('127.0.0.1');
    expect(hostnameOf('bad host')).toBeNull();
  });
});
