import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { makeTlsFiles } from '../helpers/etcd.js';
import { recordingListener } from '../helpers/recording-listener.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { STRATCTL_BIN, spawnProcess, startTestServer, TEST_TOKEN, type TestServer } from '../helpers/server.js';
import { invalidConfigStatus } from '../helpers/status-fixture.js';
import { cliEnv, startStratctl, stratctl } from '../helpers/stratctl.js';

const envFor = (server: TestServer, extra: Record<string, string | undefined> = {}) => ({
  CONTROL_PLANE_URL: server.url,
  CONTROL_PLANE_TOKEN: server.token,
  ...extra,
});
const auditLog = (server: TestServer) => readFile(path.join(server.runtimeDir, 'audit.log'), 'utf8');
const configFile = (server: TestServer) => readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');
/** `{"error":{"code","message"}}` on stdout, as every command answers a failure under --json. */
const jsonError = (stdout: string) => JSON.parse(stdout) as { error: { code: string; message: string } };

/** Three versions: 1 (baseline, momentum), 2 (gold), 3 (scan interval 15). */
async function withHistory() {
  const server = await startTestServer();
  expect((await stratctl(['activate', 'gold'], envFor(server))).code).toBe(0);
  expect((await stratctl(['config', 'set', 'scan_interval_seconds=15'], envFor(server))).code).toBe(0);
  return server;
}

describe('stratctl covers the API', { timeout: 60_000 }, () => {
  it('history: every accepted version newest first, what changed and who; --last; --json', async () => {
    const server = await withHistory();
    const human = await stratctl(['history'], envFor(server));
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^VERSION\s+TIME\s+ACTOR\s+OPERATION\s+STRATEGY\s+CHANGES$/);
    expect(lines[1]).toMatch(/^3\s+\S+Z\s+admin\s+updateConfig\s+gold\s+scan_interval_seconds: 30 -> 15$/);
    expect(lines[2]).toMatch(/^2\s+\S+Z\s+admin\s+activateStrategy\s+gold\s+active_strategy_key: momentum -> gold$/);
    expect(lines[3]).toMatch(/^1\s+\S+Z\s+system\s+baseline\s+momentum\s+/);
    const json = await stratctl(['history', '--json', '--last', '2'], envFor(server));
    expect(json.code).toBe(0);
    const versions = JSON.parse(json.stdout) as { version: number; config: { activeStrategyKey: string; scanIntervalSeconds: number } }[];
    expect(versions.map((v) => [v.version, v.config.activeStrategyKey, v.config.scanIntervalSeconds])).toEqual([
      [3, 'gold', 15],
      [2, 'gold', 30],
    ]);
    const bad = await stratctl(['history', '--last', '0', '--json'], envFor(server));
    expect(bad.code).toBe(2);
    expect(jsonError(bad.stdout).error).toEqual({ code: 'USAGE', message: 'stratctl history: --last must be 1 to 100, not "0"' });
  });

  it('audit: the trail newest first, --subject and --last; --json', async () => {
    const server = await withHistory();
    const human = await stratctl(['audit', '--last', '2'], envFor(server));
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME\s+SUBJECT\s+VERSION\s+ACTOR\s+OPERATION\s+CHANGES$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(1, 5))).toEqual([
      ['config', '3', 'admin', 'updateConfig'],
      ['config', '2', 'admin', 'activateStrategy'],
    ]);
    const json = await stratctl(['audit', '--json', '--subject', 'config'], envFor(server));
    expect(JSON.parse(json.stdout).map((e: { version: number; subject: string }) => `${e.subject}:${e.version}`)).toEqual([
      'CONFIG:3',
      'CONFIG:2',
      'CONFIG:1',
    ]);
    const bad = await stratctl(['audit', '--subject', 'tokens'], envFor(server));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--subject must be config or presets');
  });

  it('rollback <version>: a new version with the old settings; --if-version guards; a rollback to what is in force writes nothing', async () => {
    const server = await withHistory();
    const stale = await stratctl(['rollback', '1', '--if-version', '2', '--json'], envFor(server));
    expect(stale.code).toBe(4);
    // The versions too, so a script can retry with --if-version <currentVersion> without reading the message.
    expect(jsonError(stale.stdout).error).toEqual({
      code: 'CONFLICT',
      message: 'Config version conflict: expected 2, current 3',
      currentVersion: 3,
      expectedVersion: 2,
    });

    const done = await stratctl(['rollback', '1', '--if-version', '3'], envFor(server));
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toBe(
      "rolled back to version 1's settings: config version 4 (changed active_strategy_key, scan_interval_seconds)\n",
    );
    expect(server.store.state().config.config).toMatchObject({ version: 4, activeStrategyKey: 'momentum', scanIntervalSeconds: 30 });

    const [trail, file] = [await auditLog(server), await configFile(server)];
    const again = await stratctl(['rollback', '1', '--json'], envFor(server));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ rolledBackTo: 1, changed: false, changedFields: [], config: { version: 4 } });
    const human = await stratctl(['rollback', '4'], envFor(server));
    expect(human.stdout).toBe("version 4's settings are already in force (config version 4): nothing written\n");
    expect(await auditLog(server)).toBe(trail);
    expect(await configFile(server)).toBe(file);

    const unknown = await stratctl(['rollback', '99', '--json'], envFor(server));
    expect(unknown.code).toBe(2);
    expect(jsonError(unknown.stdout).error.code).toBe('BAD_USER_INPUT');
    // The hint says where the versions are, not to "fix the values above".
    expect(unknown.stderr).toBe(
      'error: Unknown config version: 99 (kept: versions 1 to 4)\nNothing was changed. "stratctl history" lists the versions kept.\n',
    );
    expect((await stratctl(['rollback', 'latest'], envFor(server))).code).toBe(2);
    const noToken = await stratctl(['rollback', '2', '--json'], {
      CONTROL_PLANE_URL: server.url,
      CONTROL_PLANE_RUNTIME_DIR: await tempRuntimeDir(),
    });
    expect(noToken.code).toBe(3);
    expect(jsonError(noToken.stdout).error).toEqual({ code: 'UNAUTHENTICATED', message: 'Authentication required' });
  });

  it('rollback --wait: exit 0 once the runner applied it, exit 6 when it did not in time', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    expect((await stratctl(['activate', 'gold'], envFor(server))).code).toBe(0);
    const waited = await stratctl(['rollback', '1', '--wait', '--timeout-ms', '20000', '--json'], envFor(server));
    expect(waited.code, waited.stderr).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({
      config: { version: 3, activeStrategyKey: 'momentum' },
      runnerWait: { applied: true },
    });

    const apiOnly = await startTestServer();
    expect((await stratctl(['activate', 'gold'], envFor(apiOnly))).code).toBe(0);
    const timedOut = await stratctl(['rollback', '1', '--wait', '--timeout-ms', '50'], envFor(apiOnly));
    expect(timedOut.code).toBe(6);
    expect(timedOut.stderr).toContain('but timed out after 50 ms: no live runner to wait for (none has reported)');
    expect(apiOnly.store.state().config.config.version).toBe(3);
    // Under --json: the payload (the change stands) and the error every failing command carries.
    const json = await stratctl(['activate', 'range', '--wait', '--timeout-ms', '50', '--json'], envFor(apiOnly));
    expect(json.code).toBe(6);
    expect(JSON.parse(json.stdout)).toMatchObject({
      configVersion: 4,
      runnerWait: { applied: false },
      error: { code: 'WAIT_TIMEOUT', message: expect.stringContaining('timed out after 50 ms') },
    });
  });

  it('token create/list/revoke --json; errors as JSON', async () => {
    const runtimeDir = await tempRuntimeDir();
    const env = { CONTROL_PLANE_RUNTIME_DIR: runtimeDir };
    const created = await stratctl(['token', 'create', '--name', 'grafana', '--scope', 'read', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(JSON.parse(created.stdout)).toMatchObject({ name: 'grafana', scope: 'read', token: expect.stringMatching(/^[\w-]{40,}$/) });
    const listed = await stratctl(['token', 'list', '--json'], env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([
      { name: 'grafana', scope: 'read', createdAt: expect.stringMatching(/Z$/), expiresAt: null },
    ]);
    expect(listed.stdout).not.toContain(JSON.parse(created.stdout).token);
    const twice = await stratctl(['token', 'create', '--name', 'grafana', '--scope', 'read', '--json'], env);
    expect(twice.code).toBe(2);
    expect(jsonError(twice.stdout).error.code).toBe('BAD_USER_INPUT');
    expect(JSON.parse((await stratctl(['token', 'revoke', 'grafana', '--json'], env)).stdout)).toEqual({ revoked: 'grafana' });
    const gone = await stratctl(['token', 'revoke', 'grafana', '--json'], env);
    expect(gone.code).toBe(2);
    expect(jsonError(gone.stdout).error).toEqual({ code: 'NOT_FOUND', message: 'no token named "grafana"' });
    expect(JSON.parse((await stratctl(['token', 'list', '--json'], env)).stdout)).toEqual([]);
  });

  it('--json on every command that talks to the API or the token file', () => {
    const program = buildProgram(async () => {});
    const leaves: Command[] = [];
    const walk = (command: Command) => {
      if (command.commands.length === 0) leaves.push(command);
      command.commands.forEach(walk);
    };
    walk(program);
    // serve and runner log (--log-format json); completion prints a shell script.
    const exempt = ['serve', 'runner', 'completion'];
    const missing = leaves.filter((c) => !exempt.includes(c.name()) && !c.options.some((o) => o.long === '--json')).map((c) => c.name());
    expect(leaves.length).toBeGreaterThanOrEqual(12);
    expect(missing).toEqual([]);
  });
});

describe('stratctl exit codes, and errors as JSON on stdout under --json', { timeout: 60_000 }, () => {
  it.each([
    ['2: a usage error', ['status', '--colour', '--json'], 2, 'USAGE'],
    ['2: an unknown strategy', ['strategies', 'nope', '--json'], 2, 'NOT_FOUND'],
    ['2: an invalid key to activate', ['activate', 'nope', '--json'], 2, 'BAD_USER_INPUT'],
    ['2: an invalid config value', ['config', 'set', 'scan_interval_seconds=0', '--json'], 2, 'BAD_USER_INPUT'],
    ['3: a wrong token', ['activate', 'gold', '--token', 'wrong-token-0123456789abc', '--json'], 3, 'UNAUTHENTICATED'],
    ['4: a stale --if-version', ['activate', 'gold', '--if-version', '7', '--json'], 4, 'CONFLICT'],
  ] as const)('exit %s', async (_name, args, code, errorCode) => {
    const server = await startTestServer();
    const result = await stratctl([...args], envFor(server));
    expect(result.code, result.stderr).toBe(code);
    expect(jsonError(result.stdout).error.code).toBe(errorCode);
    expect(jsonError(result.stdout).error.message.length).toBeGreaterThan(0);
    expect(server.store.state().config.config.version).toBe(1);
  });

  it('exit 2, and no secret echoed: a URL with user:password@, a token a header cannot carry (were exit 5 with the secret in the message)', async () => {
    const server = await startTestServer();
    const withCredentials = server.url.replace('http://', 'http://user:s3cretpass@');
    const cases: [string[], Record<string, string>, RegExp][] = [
      [
        ['status', '--json'],
        { CONTROL_PLANE_URL: withCredentials },
        // Named as given: the variable (it said --url, a flag nobody passed).
        /^stratctl status: CONTROL_PLANE_URL holds a user name or password \(user:password@127\.0\.0\.1:\d+\)/,
      ],
      [['status', '--json', '--url', withCredentials], {}, /^stratctl status: --url holds a user name or password/],
      [
        ['status', '--json'],
        { CONTROL_PLANE_URL: '127.0.0.1:8787/graphql' },
        /^stratctl status: CONTROL_PLANE_URL "127\.0\.0\.1:8787\/graphql" is not an http\(s\) URL/,
      ],
      [
        ['activate', 'gold', '--json', '--token', 'SECRETabc\ndef1234567890'],
        { CONTROL_PLANE_URL: server.url },
        /--token holds a character a token cannot have \(U\+000A at position 10 of 23\)/,
      ],
      [
        ['status', '--json'],
        { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: 'SECRET€token1234567890' },
        /CONTROL_PLANE_TOKEN holds a character a token cannot have \(U\+20AC at position 7 of 22\)/,
      ],
    ];
    for (const [args, env, message] of cases) {
      const result = await stratctl(args, env);
      expect(result.code, result.stderr).toBe(2);
      const error = jsonError(result.stdout).error;
      expect(error.code).toBe('USAGE');
      expect(error.message).toMatch(message);
      expect(result.stdout + result.stderr).not.toMatch(/s3cretpass|SECRET/);
    }
    expect(server.store.state().config.config.version).toBe(1);
  });

  it('exit 3: a token without the scope (FORBIDDEN)', async () => {
    const server = await startTestServer();
    const created = await stratctl(['token', 'create', '--name', 'viewer', '--scope', 'read'], {
      CONTROL_PLANE_RUNTIME_DIR: server.runtimeDir,
    });
    const token = created.stdout.trim();
    await expect.poll(async () => (await server.gql('{ status { configVersion } }', undefined, token)).status).toBe(200);
    const result = await stratctl(['activate', 'gold', '--json'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_TOKEN: token });
    expect(result.code).toBe(3);
    expect(jsonError(result.stdout).error).toEqual({ code: 'FORBIDDEN', message: 'Forbidden: requires scope operate' });
  });

  it('exit 5: nothing listens (UNREACHABLE)', async () => {
    const closed = await startTestServer();
    const url = closed.url;
    await closed.close();
    const result = await stratctl(['history', '--json'], { CONTROL_PLANE_URL: url });
    expect(result.code).toBe(5);
    expect(jsonError(result.stdout).error.code).toBe('UNREACHABLE');
  });

  it('exit 7 for 503 UNAVAILABLE (try again later); exit 1 for 503 CONFIG_WRITE_FAILED (a failed write)', async () => {
    const unavailable = await recordingListener('127.0.0.1', {
      answer: {
        status: 503,
        headers: { 'retry-after': '2' },
        body: { data: null, errors: [{ message: 'Config store unavailable', extensions: { code: 'UNAVAILABLE' } }] },
      },
    });
    const later = await stratctl(['activate', 'gold', '--json'], {
      CONTROL_PLANE_URL: `${unavailable.origin}/graphql`,
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    expect(later.code).toBe(7);
    expect(jsonError(later.stdout).error).toEqual({ code: 'UNAVAILABLE', message: 'Config store unavailable' });
    expect(later.stderr).toContain('retry shortly');

    const writeFailed = await recordingListener('127.0.0.1', {
      answer: {
        status: 503,
        body: { data: null, errors: [{ message: 'Config could not be written', extensions: { code: 'CONFIG_WRITE_FAILED' } }] },
      },
    });
    const failed = await stratctl(['activate', 'gold', '--json'], {
      CONTROL_PLANE_URL: `${writeFailed.origin}/graphql`,
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    expect(failed.code).toBe(1);
    expect(jsonError(failed.stdout).error.code).toBe('CONFIG_WRITE_FAILED');
  });

  it('exit 2 with the fix: a --url whose host the server does not answer to (421), or one that redirects (never followed)', async () => {
    const server = await startTestServer();
    const misnamed = server.url.replace('127.0.0.1', '0.0.0.0');
    const refused = await stratctl(['status', '--json', '--url', misnamed]);
    expect(refused.code).toBe(2);
    expect(jsonError(refused.stdout).error).toEqual({
      code: 'MISDIRECTED_REQUEST',
      message: 'Host not served: this control plane answers to localhost, 127.0.0.1, ::1',
    });
    expect(refused.stderr).toContain(`Use one of the host names above in --url / CONTROL_PLANE_URL (now ${misnamed})`);

    // Where a redirect would take the request (and, on a 307, the body and the token with it).
    const elsewhere = await recordingListener('127.0.0.1', { answer: { status: 200, body: { data: { status: null } } } });
    for (const status of [302, 307]) {
      const redirecting = await recordingListener('127.0.0.1', {
        answer: { status, headers: { location: `${elsewhere.origin}/graphql` }, body: 'moved' },
      });
      const url = `${redirecting.origin}/graphql`;
      for (const args of [
        ['status', '--json'],
        ['activate', 'gold', '--json'],
        ['status', '--watch', '--json'],
      ]) {
        const result = await stratctl([...args, '--url', url], { CONTROL_PLANE_TOKEN: server.token });
        expect(result.code, `${status} ${args.join(' ')}`).toBe(2);
        expect(jsonError(result.stdout).error.code).toBe('NOT_AN_ENDPOINT');
        expect(jsonError(result.stdout).error.message).toBe(
          `${url} is not a GraphQL endpoint: it answered HTTP ${status}, a redirect to ${elsewhere.origin}/graphql (redirects are not followed, so a token never goes to a URL you did not name)`,
        );
        expect(result.stderr).toContain('--url / CONTROL_PLANE_URL must be the GraphQL endpoint itself');
      }
      expect(redirecting.seen.length).toBe(3);
    }
    expect(elsewhere.seen).toEqual([]);
  });

  it('exit 1 with what to do when the server is of another version (its API refuses a field this stratctl asks for)', async () => {
    // An older server: GraphQL's own validation refusal, as yoga answers it.
    const older = await recordingListener('127.0.0.1', {
      answer: {
        status: 400,
        body: {
          errors: [
            { message: 'Cannot query field "notWaitedFor" on type "RunnerWait".', extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } },
          ],
        },
      },
    });
    const result = await stratctl(['activate', 'gold', '--url', `${older.origin}/graphql`, '--token', TEST_TOKEN]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('Cannot query field "notWaitedFor"');
    expect(result.stderr).toContain(
      `The server runs another version of the API than this stratctl (GET ${older.origin}/version says which): use the stratctl that came with the server, or upgrade the server.`,
    );
  });

  it('exit 1: an answer that is not GraphQL', async () => {
    const notGraphql = await recordingListener('127.0.0.1', { answer: { status: 200, body: 'a web page' } });
    const result = await stratctl(['status', '--json', '--url', `${notGraphql.origin}/graphql`]);
    expect(result.code).toBe(1);
    expect(jsonError(result.stdout).error.code).toBe('BAD_RESPONSE');
  });

  it('exit 1: a GraphQL answer of the wrong shape is BAD_RESPONSE under --json too, not passed through with exit 0', async () => {
    const good = invalidConfigStatus({ lastScanAt: null, heartbeatAt: null });
    const { configError: _gone, ...withoutConfigError } = good;
    for (const status of [null, {}, withoutConfigError, { ...good, strategiesError: 'none' }, { ...good, runners: null }]) {
      const other = await recordingListener('127.0.0.1', {
        answer: { status: 200, headers: { 'content-type': 'application/json' }, body: { data: { status, config: null } } },
      });
      const url = `${other.origin}/graphql`;
      const [json, text] = await Promise.all([stratctl(['status', '--json', '--url', url]), stratctl(['status', '--url', url])]);
      const what = JSON.stringify(status);
      expect(json.code, what).toBe(1);
      expect(text.code, what).toBe(1);
      // One JSON object, the error: nothing of the answer printed as if it were the status.
      expect(jsonError(json.stdout).error.code, what).toBe('BAD_RESPONSE');
      expect(jsonError(json.stdout).error.message).toContain(`the answer from ${url} is not what stratctl expects`);
      expect(text.stderr).toContain(`error: the answer from ${url} is not what stratctl expects`);
    }
    // The shape checked is the one the server gives: a whole answer passes.
    const whole = await recordingListener('127.0.0.1', {
      answer: {
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: { data: { status: good, config: { scanIntervalSeconds: 30 } } },
      },
    });
    const ok = await stratctl(['status', '--json', '--url', `${whole.origin}/graphql`]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual(good);
  });

  it('exit 5: a proxy in front answers 502/503/504 (the control plane behind it is down or restarting), not exit 1; to a change, its outcome is unknown', async () => {
    for (const status of [502, 503, 504]) {
      const proxy = await recordingListener('127.0.0.1', {
        answer: { status, headers: { 'content-type': 'text/html', 'retry-after': '5' }, body: '<html>Bad Gateway</html>' },
      });
      const url = `${proxy.origin}/graphql`;
      const result = await stratctl(['status', '--json', '--url', url]);
      expect(result.code, `HTTP ${status}`).toBe(5);
      expect(jsonError(result.stdout).error.code).toBe('UNREACHABLE');
      expect(result.stderr).toContain(`${url} answered HTTP ${status} from something in front of the control plane (a proxy?)`);
      expect(result.stderr).toContain('Check the control plane behind it');
      // A read says nothing of changes, nor does it send the caller to status/history.
      expect(result.stderr).not.toContain('may or may not have been applied');
      expect(jsonError(result.stdout).error).not.toHaveProperty('outcome');
      // A change through it: each of the three may come after the proxy forwarded it (504: gave up
      // waiting; 502, and Envoy's 503: the server closed or reset the connection before answering).
      const change = await stratctl(['activate', 'gold', '--json', '--url', url, '--token', 'proxy-test-token-0123456789']);
      expect(change.code, `HTTP ${status}`).toBe(5);
      expect(jsonError(change.stdout).error, `HTTP ${status}`).toMatchObject({ code: 'UNREACHABLE', outcome: 'UNKNOWN' });
      expect(change.stderr).toContain(`${url} answered HTTP ${status} from something in front of the control plane (a proxy?)`);
      expect(change.stderr).toContain('the change may or may not have been applied (a proxy answers so also after forwarding it');
      expect(change.stderr).toContain('Check with "stratctl status" or "stratctl history" whether it was applied');
      expect(change.stderr).not.toContain('Check the control plane behind it');
      // status --watch whose stream never opens: the same words ("cannot reach <url>" and "Is the control plane running?" before).
      const watch = await stratctl(['status', '--watch', '--url', url]);
      expect(watch.code, `HTTP ${status}`).toBe(5);
      expect(watch.stderr).toContain(`${url} answered HTTP ${status} from something in front of the control plane (a proxy?)`);
      expect(watch.stderr).toContain('Check the control plane behind it');
      expect(watch.stderr).not.toContain('Is the control plane running');
    }
  });

  it.each([
    [
      'a proxy’s 524 page (Cloudflare: the origin took it and did not answer in time)',
      524,
      '<html>524: A timeout occurred</html>',
      'something in front of the control plane answered in its stead',
    ],
    ['a proxy’s 500 page', 500, '<html>Internal Server Error</html>', 'something in front of the control plane answered in its stead'],
    ['a 200 that is not GraphQL', 200, 'a web page', 'something in front of the control plane answered in its stead'],
    ['a 200 whose data lacks the change’s result', 200, { data: {} }, "without the change's result (activateStrategy)"],
  ])(
    'a change answered by %s may or may not have been applied: outcome UNKNOWN and the next step says to check, not "see the server log"',
    async (_, status, body, why) => {
      const proxy = await recordingListener('127.0.0.1', {
        answer: { status, headers: typeof body === 'string' ? { 'content-type': 'text/html' } : {}, body },
      });
      const url = `${proxy.origin}/graphql`;
      const change = await stratctl(['activate', 'gold', '--json', '--url', url, '--token', 'proxy-test-token-0123456789']);
      // Before: exit 1 without `outcome`, "See the server log for details", though a proxy that forwarded it may have let it commit.
      expect(change.code).toBe(1);
      expect(jsonError(change.stdout).error).toMatchObject({ outcome: 'UNKNOWN' });
      expect(change.stderr).toContain(why);
      expect(change.stderr).toContain('the change may or may not have been applied');
      expect(change.stderr).toContain('Check with "stratctl status" or "stratctl history" whether it was applied');
      expect(change.stderr).not.toContain('See the server log');
      // A read says nothing of changes.
      const read = await stratctl(['status', '--json', '--url', url]);
      expect(read.code).toBe(1);
      expect(jsonError(read.stdout).error).not.toHaveProperty('outcome');
      expect(read.stderr).not.toContain('may or may not have been applied');
    },
  );

  it('a change refused by a proxy before it went on (a 4xx page: its body limit) changed nothing: no outcome', async () => {
    const proxy = await recordingListener('127.0.0.1', {
      answer: { status: 400, headers: { 'content-type': 'text/html' }, body: '<html>400 Bad Request</html>' },
    });
    const change = await stratctl([
      'activate',
      'gold',
      '--json',
      '--url',
      `${proxy.origin}/graphql`,
      '--token',
      'proxy-test-token-0123456789',
    ]);
    expect(change.code).toBe(1);
    expect(jsonError(change.stdout).error).not.toHaveProperty('outcome');
    expect(change.stderr).not.toContain('may or may not have been applied');
  });

  it('exit 7 past the subscriptions-per-client limit, with its own next step (not the one for wrong tokens, whose code is the same)', async () => {
    // status --watch holds one subscription (statusChanged).
    const server = await startTestServer({ runner: false, security: { maxSubscriptionsPerClient: 1 } });
    const first = startStratctl(['status', '--watch', '--url', server.url]);
    await first.waitFor(/active momentum/);
    const running = startStratctl(['status', '--watch', '--json', '--url', server.url]);
    const code = await Promise.race([running.exited, new Promise((resolve) => setTimeout(() => resolve('still watching'), 20_000))]);
    if (code !== 7) running.signal('SIGINT'); // not left running past the test
    first.signal('SIGINT');
    expect(await first.exited).toBe(130);
    expect(code).toBe(7);
    const second = { stdout: running.stdout(), stderr: running.stderr() };
    expect(jsonError(second.stdout).error.code).toBe('RATE_LIMITED');
    expect(second.stderr).toContain('This address holds as many subscriptions as the server allows');
    expect(second.stderr).toContain('--max-subscriptions-per-client');
    expect(second.stderr).not.toContain('wrong tokens');
  });

  it('exit 5 with what to do when the URL’s TLS certificate is not trusted (a TLS proxy with its own CA): retrying will not help', async () => {
    const tls = await makeTlsFiles(await tempRuntimeDir());
    const proxy = createHttpsServer({ cert: await readFile(tls.serverCertFile), key: await readFile(tls.serverKeyFile) }, (_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"data":null}'),
    );
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    onTestFinished(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
    const url = `https://127.0.0.1:${(proxy.address() as AddressInfo).port}/graphql`;
    // status --watch too: it said "cannot reach ... (UNABLE_TO_VERIFY_LEAF_SIGNATURE)" and "Is the control plane running".
    for (const args of [['status'], ['status', '--watch']]) {
      const result = await stratctl([...args, '--url', url]);
      expect(result.code, args.join(' ')).toBe(5);
      expect(result.stderr).toMatch(
        new RegExp(`^error: cannot reach ${url.replace(/[.]/g, '\\.')}: its TLS certificate is not accepted \\([A-Z_]+\\)$`, 'm'),
      );
      expect(result.stderr).toContain('Retrying will not help');
      expect(result.stderr).toContain('NODE_EXTRA_CA_CERTS=/path/to/ca.pem');
      expect(result.stderr).not.toContain('Is the control plane running');
    }
  });

  it('run from a working directory that was removed: a read goes on without ./runtime/admin.token; a relative runtime dir is refused (exit 2), not a crash', async () => {
    const server = await startTestServer();
    const gone = await tempRuntimeDir();
    // The shell enters the directory, which is removed under it before stratctl starts (a deploy replaced the release directory).
    const inGone = (args: string[]) => {
      const quoted = [process.execPath, STRATCTL_BIN, ...args].map((a) => `'${a}'`).join(' ');
      return spawnProcess('sh', ['-c', `cd '${gone}' && rmdir '${gone}' && exec ${quoted}`], {
        env: cliEnv({ CONTROL_PLANE_LOG_FORMAT: 'text' }),
      });
    };
    const status = inGone(['status', '--url', server.url]);
    expect(await status.exited, status.stderr()).toBe(0);
    expect(status.stdout()).toContain('momentum');
    await mkdir(gone);
    const relative = inGone(['status', '--url', server.url, '--runtime-dir', 'rt']);
    expect(await relative.exited).toBe(2);
    expect(relative.stderr()).toContain('--runtime-dir rt is relative, and the working directory is gone');
    expect(relative.stderr()).not.toMatch(/uv_cwd|\n\s+at /);
    await mkdir(gone);
    const change = inGone(['activate', 'gold', '--url', server.url]);
    expect(await change.exited).toBe(3);
    expect(change.stderr()).toContain(
      'the working directory is gone (removed after this shell entered it), so there is no ./runtime/admin.token to read',
    );
    await mkdir(gone);
    const serve = inGone(['serve', '--port', '0']);
    expect(await serve.exited).toBe(2);
    expect(serve.stderr()).toContain('./runtime (the default) is relative, and the working directory is gone');
    expect(serve.stderr()).not.toMatch(/uv_cwd|\n\s+at /);
  });

  it('exit 2: a request over the server’s body limit is the input’s fault, and says so', async () => {
    const server = await startTestServer();
    const description = 'a'.repeat(70_000);
    const result = await stratctl(['preset', 'set', 'big_one', 'base=gold', 'name=x', `description=${description}`, '--json'], {
      ...envFor(server),
      CONTROL_PLANE_TOKEN: TEST_TOKEN,
    });
    expect(result.code).toBe(2);
    expect(jsonError(result.stdout).error.code).toBe('REQUEST_ENTITY_TOO_LARGE');
    expect(result.stderr).toContain('over the server’s body limit');
    expect(result.stderr).not.toContain('See the server log');
  });

  it('status --watch where reads require a token: the stream and the reads carry the token after the first 401', async () => {
    const server = await startTestServer({ readsRequireToken: true, adminTokenFile: true });
    const dir = await tempRuntimeDir();
    await writeFile(path.join(dir, 'admin.token'), `${TEST_TOKEN}\n`, { mode: 0o600 });
    const watch = startStratctl(['status', '--watch', '--json'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir });
    await watch.waitFor(/"configVersion":1/);
    await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }');
    await watch.waitFor(/"configVersion":2/);
    watch.signal('SIGINT');
    expect(await watch.exited).toBe(130);
  });
});
