import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { stratctl } from '../helpers/stratctl.js';

/**
 * stratctl reads what any server at --url answers (a proxy, another service, a compromised host):
 * nothing of it may reach the operator's terminal as something the terminal acts on.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const ACTED_ON = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// CSI as one C1 character (U+009B), the same after ESC, and a right-to-left override.
const HOSTILE = 'Invalid strategy key: x\u009b2J\u009b1;1H\u001b]0;owned\u0007 \u202eevil';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  server = undefined;
});

async function hostileServer(answer: (res: import('node:http').ServerResponse) => void): Promise<string> {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => answer(res));
  });
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
}

describe('stratctl against a hostile server: its strings never reach the terminal raw', () => {
  it('--json: a refusal whose message holds C1 controls and a bidi override is written escaped, and parses back to the same message', async () => {
    const url = await hostileServer((res) => {
      res.writeHead(400, { 'content-type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ data: null, errors: [{ message: HOSTILE, extensions: { code: 'BAD_USER_INPUT' } }] }));
    });
    const result = await stratctl(['activate', 'gold', '--json', '--url', url, '--token', 'x'.repeat(32)]);
    expect(result.code).toBe(2);
    expect(result.stdout).not.toMatch(ACTED_ON);
    expect(result.stderr).not.toMatch(ACTED_ON);
    expect(JSON.parse(result.stdout)).toEqual({ error: { code: 'BAD_USER_INPUT', message: HOSTILE } });
  });

  it("--json: a redirect's Location (latin1 bytes, 0x9B a CSI) reaches the message percent-encoded (the URL is normalised)", async () => {
    const url = await hostileServer((res) => {
      res.writeHead(302, { location: Buffer.from('http://evil.example/\x9b2J\x9b1;1Hgraphql', 'latin1').toString('latin1') });
      res.end();
    });
    const result = await stratctl(['status', '--json', '--url', url]);
    expect(result.code).toBe(2);
    expect(result.stdout).not.toMatch(ACTED_ON);
    expect(result.stderr).not.toMatch(ACTED_ON);
    const { error } = JSON.parse(result.stdout) as { error: { message: string } };
    expect(error.message).toContain('a redirect to http://evil.example/');
  });
});
