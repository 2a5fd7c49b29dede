import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { runClientCommand } from '../../src/cli/client-command.js';
import { type CliIo, commandContext } from '../../src/cli/io.js';
import { execute } from '../../src/client/http.js';
import { ActivateStrategyDocument } from '../../src/generated/graphql.js';
import { startTestServer, TEST_TOKEN } from '../helpers/server.js';
import { cliEnv, startStratctl, stratctl } from '../helpers/stratctl.js';

// stratctl in scripts: what a stop signal, a failed TLS handshake, a proxy's rate limit and an
// answer of the wrong shape give (exit code, stderr, --json's error and outcome).

const listening = async <T extends Server | ReturnType<typeof createServer>>(server: T): Promise<string> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
};

/** `--json`'s failure object on stdout. */
const jsonErrorOf = (stdout: string) => (JSON.parse(stdout) as { error: Record<string, unknown> }).error;

/** A server answering every POST with `answer` (status, headers, body), after reading the request. */
function fakeServer(answer: (body: string) => { status: number; headers?: Record<string, string>; body: string }) {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const { status, headers, body: text } = answer(body);
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(text);
    });
  });
  return server;
}

describe('stratctl in scripts', { timeout: 60_000 }, () => {
  it.each([false, true])(
    'a stop signal after a change\'s answer headers, before its body: "may or may not have been applied", exit 130 (it was silent) (--json: %s)',
    async (json) => {
      const server = await startTestServer({ runner: false });
      // A proxy forwarding to the server that passes on the status, the headers and 10 bytes of the body, then stalls.
      let headersSent = false;
      const proxy = createServer(async (req, res) => {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const answer = await fetch(server.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
          body: Buffer.concat(chunks),
        });
        const text = await answer.text();
        res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
        res.write(text.slice(0, 10));
        headersSent = true;
      });
      const url = `http://${await listening(proxy)}/graphql`;
      try {
        const activate = startStratctl(['activate', 'range', '--token', TEST_TOKEN, '--url', url, ...(json ? ['--json'] : [])]);
        await vi.waitFor(() => expect(headersSent).toBe(true), { timeout: 10_000, interval: 20 });
        // Time for the client to read the headers (nothing outside it shows that it has: before, its
        // listener ended then, so a stop signal sent too early would pass without the fix, never fail with it).
        await new Promise((resolve) => setTimeout(resolve, 300));
        // The answer's headers are in; its body is not: the command still listens for a stop.
        expect(activate.stopListeners()).toBe(1);
        activate.signal('SIGINT');
        expect(await activate.exited).toBe(130);
        const message = `stopped by SIGINT after the change was sent to ${url}, before its answer came: it may or may not have been applied`;
        expect(activate.stderr()).toBe(`stratctl: ${message}; check with stratctl status or stratctl history\n`);
        expect(activate.stdout()).toBe(json ? `${JSON.stringify({ error: { code: 'INTERRUPTED', message, outcome: 'UNKNOWN' } })}\n` : '');
        // It was: the server committed the change.
        expect(server.store.state().config.config.activeStrategyKey).toBe('range');
      } finally {
        proxy.closeAllConnections();
        proxy.close();
      }
    },
  );

  it('a change whose TLS handshake fails (https: to a plain-HTTP port, EPROTO) was never sent: "cannot reach", no outcome', async () => {
    let requests = 0;
    const plain = fakeServer(() => {
      requests += 1;
      return { status: 200, body: '{}' };
    });
    const url = `https://${await listening(plain)}/graphql`;
    try {
      const activate = await stratctl(['activate', 'gold', '--json', '--token', 't', '--url', url]);
      expect(activate.code).toBe(5);
      expect(requests).toBe(0);
      expect(activate.stderr).not.toContain('may or may not');
      expect(activate.stderr).toMatch(
        /^error: cannot reach https:\/\/127\.0\.0\.1:\d+\/graphql \((EPROTO|ERR_SSL_\w+)\)\nIs the control plane running/,
      );
      expect(jsonErrorOf(activate.stdout)).not.toHaveProperty('outcome');
      expect(jsonErrorOf(activate.stdout).code).toBe('UNREACHABLE');
    } finally {
      plain.closeAllConnections();
      plain.close();
    }
  });

  it('a change timing out before its connection is up (a TLS handshake never answered) was never sent; one timing out after it was may have been', async () => {
    // Takes the TCP connection and never says a word: the TLS handshake never completes.
    const sockets = new Set<Socket>();
    const mute = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    const address = await listening(mute);
    const run = async (url: string) => {
      let stderr = '';
      let stdout = '';
      const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        env: cliEnv(),
        onStopSignal: () => () => {},
        exit: (code) => {
          throw new Error(`exit ${code}: no stop signal is sent here`);
        },
      };
      const code = await runClientCommand({ url, token: TEST_TOKEN, json: true }, commandContext(io), async (ctx) => {
        await execute({ ...ctx.settings, timeoutMs: 500 }, ActivateStrategyDocument, { strategyKey: 'gold' });
        return undefined;
      });
      return { code, stderr, stdout };
    };
    try {
      const handshake = await run(`https://${address}/graphql`);
      expect(handshake.code).toBe(5);
      expect(handshake.stderr).toContain(`cannot reach https://${address}/graphql (no connection in time)`);
      expect(jsonErrorOf(handshake.stdout)).not.toHaveProperty('outcome');
      // Plain HTTP to the same port: connected, the request written, no answer: it may have been applied.
      const answerless = await run(`http://${address}/graphql`);
      expect(answerless.code).toBe(5);
      expect(answerless.stderr).toContain('after the change was sent: it may or may not have been applied');
      expect(jsonErrorOf(answerless.stdout)).toMatchObject({ code: 'UNREACHABLE', outcome: 'UNKNOWN' });
    } finally {
      for (const socket of sockets) socket.destroy();
      mute.close();
    }
  });

  it.each([
    ['an HTML page', 'text/html', '<html><body>429 Too Many Requests</body></html>', '30', 'in 30 s (its Retry-After)'],
    [
      'its own JSON',
      'application/json',
      '{"message":"rate limit exceeded"}',
      'Wed, 21 Oct 2026 07:28:00 GMT',
      'after 2026-10-21T07:28:00.000Z (its Retry-After)',
    ],
    ['a page without Retry-After', 'text/plain', 'slow down', undefined, ''],
  ])(
    'a proxy\'s own 429 (%s) is "try again later", exit 7 RATE_LIMITED, with its Retry-After: not exit 1 "see the server log"',
    async (_what, type, page, retryAfter, when) => {
      const proxy = fakeServer(() => ({
        status: 429,
        headers: { 'content-type': type, ...(retryAfter && { 'retry-after': retryAfter }) },
        body: page,
      }));
      const url = `http://${await listening(proxy)}/graphql`;
      try {
        const [change, read] = await Promise.all([
          stratctl(['activate', 'gold', '--json', '--token', 't', '--url', url]),
          stratctl(['status', '--url', url]),
        ]);
        const message = `${url} answered HTTP 429 from something in front of the control plane (a proxy?), not from the control plane: it rate-limited the request; try again later${when ? ` ${when}` : ''}`;
        expect(change.code).toBe(7);
        // Refused before it reached the server: nothing to check.
        expect(jsonErrorOf(change.stdout)).toEqual({ code: 'RATE_LIMITED', message });
        expect(change.stderr).toContain('Nothing reached the control plane: retry later.');
        expect(change.stderr).not.toContain('See the server log');
        expect(change.stderr).not.toContain('wrong tokens');
        expect(read.code).toBe(7);
        expect(read.stderr).toBe(
          `error: ${message}\nNothing reached the control plane: retry later. If it keeps happening, the limit is that proxy's, not the control plane's (--url / CONTROL_PLANE_URL is ${url}).\n`,
        );
      } finally {
        proxy.close();
      }
    },
  );

  it.each([
    ['activate', ['activate', 'gold'], 'activateStrategy'],
    ['config set', ['config', 'set', 'scan_interval_seconds=5'], 'updateConfig'],
    ['rollback', ['rollback', '1'], 'rollbackConfig'],
    ['preset delete', ['preset', 'delete', 'gold_fast'], 'deletePreset'],
  ])(
    '%s answered without the fields it reads, or with a null result: exit 1, outcome UNKNOWN (it printed "undefined", exit 0)',
    async (_command, args, field) => {
      let payload: unknown = { x: 1 };
      const other = fakeServer(() => ({ status: 200, body: JSON.stringify({ data: { [field]: payload } }) }));
      const url = `http://${await listening(other)}/graphql`;
      try {
        for (const answer of [{ x: 1 }, null]) {
          payload = answer;
          const [text, json] = await Promise.all([
            stratctl([...args, '--token', 't', '--url', url]),
            stratctl([...args, '--json', '--token', 't', '--url', url]),
          ]);
          const gap = answer === null ? field : `${field}.`;
          expect(text.code, text.stdout).toBe(1);
          expect(text.stdout).toBe('');
          expect(text.stdout + text.stderr).not.toContain('undefined');
          expect(text.stderr).toContain(`${url} answered HTTP 200 without the change's result (${gap}`);
          expect(text.stderr).toContain('the change may or may not have been applied');
          expect(text.stderr).toContain('Check with "stratctl status" or "stratctl history" whether it was applied');
          expect(json.code).toBe(1);
          expect(jsonErrorOf(json.stdout)).toMatchObject({ code: 'BAD_RESPONSE', outcome: 'UNKNOWN' });
        }
      } finally {
        other.close();
      }
    },
  );

  it.each([
    [200, '[null]'],
    [500, '[{}]'],
    [200, '["boom"]'],
    [200, '[{"message":""}]'],
  ])(
    'a change answered HTTP %i with errors %s (no GraphQL error with a message): exit 1, outcome UNKNOWN, a message saying so (it was a TypeError or an empty message)',
    async (status, errors) => {
      const other = fakeServer(() => ({ status, body: `{"errors":${errors}}` }));
      const url = `http://${await listening(other)}/graphql`;
      try {
        const [text, json] = await Promise.all([
          stratctl(['activate', 'gold', '--token', 't', '--url', url]),
          stratctl(['activate', 'gold', '--json', '--token', 't', '--url', url]),
        ]);
        const said = `${url} answered HTTP ${status} with errors stratctl cannot read (not GraphQL errors with a message); the change may or may not have been applied`;
        expect(text.code).toBe(1);
        expect(text.stderr).toContain(`error: ${said}`);
        expect(text.stderr).toContain('Check with "stratctl status" or "stratctl history" whether it was applied');
        expect(text.stderr + json.stderr).not.toContain('Cannot read properties');
        expect(json.code).toBe(1);
        expect(jsonErrorOf(json.stdout)).toMatchObject({
          code: status === 200 ? 'BAD_RESPONSE' : 'INTERNAL_SERVER_ERROR',
          outcome: 'UNKNOWN',
        });
        expect(jsonErrorOf(json.stdout).message).toContain(said);
        // A read answered so is the same failure, with nothing to check.
        const read = await stratctl(['status', '--json', '--url', url]);
        expect(read.code).toBe(1);
        expect(jsonErrorOf(read.stdout)).not.toHaveProperty('outcome');
        expect(jsonErrorOf(read.stdout).message).toBe(
          `${url} answered HTTP ${status} with errors stratctl cannot read (not GraphQL errors with a message)`,
        );
      } finally {
        other.close();
      }
    },
  );

  it('an answer a command cannot read (a TypeError) after a change was sent says outcome UNKNOWN; before any change, not', async () => {
    const run = async (sendChange: boolean) => {
      let stdout = '';
      let stderr = '';
      const io: CliIo = {
        stdout: { write: (t: string) => (stdout += t) },
        stderr: { write: (t: string) => (stderr += t) },
        env: cliEnv(),
        onStopSignal: () => () => {},
        exit: (code) => {
          throw new Error(`exit ${code}: no stop signal is sent here`);
        },
      };
      const code = await runClientCommand(
        { url: 'http://127.0.0.1:9/graphql', token: 't', json: true },
        commandContext(io),
        async (ctx) => {
          // What postOnce does as a change goes out and once its answer has come.
          if (sendChange) ctx.settings.whileChangeOut?.('the change was sent')();
          return (null as unknown as { field: number }).field;
        },
      );
      return { code, stdout, stderr };
    };
    const change = await run(true);
    expect(change.code).toBe(1);
    expect(jsonErrorOf(change.stdout)).toMatchObject({ code: 'BAD_RESPONSE', outcome: 'UNKNOWN' });
    expect(change.stderr).toContain('; the change may or may not have been applied');
    const read = await run(false);
    expect(read.code).toBe(1);
    expect(jsonErrorOf(read.stdout)).not.toHaveProperty('outcome');
    expect(read.stderr).not.toContain('may or may not');
  });

  it('rollback to a version over the 32-bit range is refused here with a clear message, as --if-version is (exit 2)', async () => {
    const result = await stratctl(['rollback', '99999999999999', '--url', 'http://127.0.0.1:9/graphql']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '<version> must be a config version from "stratctl history" (a whole number up to 2147483647), not "99999999999999"',
    );
    expect(result.stderr).not.toContain('32-bit');
  });
});
