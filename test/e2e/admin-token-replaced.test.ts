import { chmod, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateToken } from '../../src/auth/tokens.js';
import { execute } from '../../src/client/http.js';
import { resolveClientSettings } from '../../src/client/settings.js';
import { ActivateStrategyDocument, StatusDocument } from '../../src/generated/graphql.js';
import { gql } from '../helpers/http.js';
import { tempRuntimeDir } from '../helpers/runtime-dir.js';
import { spawnServer, spawnStratctl } from '../helpers/server.js';
import { openSse } from '../helpers/sse.js';
import { startStratctl, stratctl } from '../helpers/stratctl.js';

const ACTIVATE = 'mutation ($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';
const UNAUTHENTICATED = { errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] };

/** Replaced as an operator does it: a new file (owner-only), renamed over admin.token. */
async function replaceAdminToken(dir: string, content: string, mode = 0o600) {
  const next = path.join(dir, 'admin.token.new');
  await writeFile(next, content, { mode });
  await chmod(next, mode);
  await rename(next, path.join(dir, 'admin.token'));
}

describe('admin.token replaced while the server runs (it was read once at start: the old token stayed valid until a restart)', () => {
  it('a new token is in force from the next request; the old one is refused on /graphql, /metrics and REST, and its streams end', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner', '--auth-failures-per-minute', '100']);
    const old = (await readFile(path.join(dir, 'admin.token'), 'utf8')).trim();
    const stream = await openSse(server.url, 'subscription { statusChanged { configVersion } }', { token: old });
    await stream.ready;
    expect((await gql(server.url, ACTIVATE, { key: 'gold' }, { token: old })).status).toBe(200);

    const replacement = generateToken();
    await replaceAdminToken(dir, `${replacement}\n`);
    const refused = await gql(server.url, ACTIVATE, { key: 'range' }, { token: old });
    expect(refused.status).toBe(401);
    expect(refused.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(server.url, ACTIVATE, { key: 'range' }, { token: replacement })).body.data?.activateStrategy).toEqual({
      configVersion: 3,
    });
    const origin = new URL(server.url).origin;
    const metrics = (token: string) => fetch(`${origin}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect((await metrics(old)).status).toBe(401);
    expect((await metrics(replacement)).status).toBe(200);
    const rest = (token: string) =>
      fetch(`${origin}/api/strategy/activate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ strategy_key: 'gold' }),
      });
    expect((await rest(old)).status).toBe(401);
    expect((await rest(replacement)).status).toBe(200);
    // The changes made meanwhile came first (the stream is re-checked every 500 ms); then it ends as a revoked token's does.
    expect((await stream.ended).slice(-2).map((e) => [e.event, e.data])).toEqual([
      ['next', UNAUTHENTICATED],
      ['complete', null],
    ]);

    const [line] = await server.waitFor(/.*admin token replaced: .*/);
    expect(line).toContain('INFO');
    expect(line).toContain('the previous one is refused');
    // stratctl reads the file per command: the server proves it holds the new token, and the change goes through.
    const activate = spawnStratctl(['activate', 'range', '--url', server.url, '--runtime-dir', dir]);
    expect(await activate.exited, activate.stderr()).toBe(0);
    const log = server.stdout() + server.stderr();
    expect(log).not.toContain(old);
    expect(log).not.toContain(replacement);
    await server.stop();
  });

  it('a file that becomes unusable (too short, gone, writable by others, a link) keeps the token in force, said once per change', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner', '--auth-failures-per-minute', '100']);
    const token = (await readFile(path.join(dir, 'admin.token'), 'utf8')).trim();
    const works = async () => (await gql(server.url, ACTIVATE, { key: 'gold' }, { token })).status;
    const kept = (problem: string) =>
      new RegExp(`admin token not replaced: admin\\.token ${problem}.*the admin token in force stays in force`);

    await replaceAdminToken(dir, 'short\n');
    expect(await works()).toBe(200);
    await server.waitFor(kept('does not hold a usable token'));

    await rm(path.join(dir, 'admin.token'));
    expect(await works()).toBe(200);
    await server.waitFor(kept('is gone'));

    const writable = generateToken();
    await replaceAdminToken(dir, `${writable}\n`, 0o620);
    expect(await works()).toBe(200);
    expect((await gql(server.url, ACTIVATE, { key: 'gold' }, { token: writable })).status).toBe(401);
    await server.waitFor(kept('.*writable'));

    const linked = generateToken();
    await writeFile(path.join(dir, 'elsewhere.token'), `${linked}\n`, { mode: 0o600 });
    await rm(path.join(dir, 'admin.token'));
    await symlink(path.join(dir, 'elsewhere.token'), path.join(dir, 'admin.token'));
    expect(await works()).toBe(200);
    expect((await gql(server.url, ACTIVATE, { key: 'gold' }, { token: linked })).status).toBe(401);
    await server.waitFor(kept('is a symbolic link'));

    // Usable again (the same token): said as the end of the problem, not as a replacement.
    await rm(path.join(dir, 'admin.token'));
    await replaceAdminToken(dir, `${token}\n`);
    expect(await works()).toBe(200);
    await server.waitFor(/admin\.token is usable again; the admin token in force is unchanged/);
    const log = server.stdout() + server.stderr();
    expect(log.match(/admin token not replaced/g)).toHaveLength(4);
    expect(log).not.toContain('admin token replaced');
    await server.stop();
  });

  it('status --watch under --reads-require-token follows the replacement: it reads admin.token again and goes on (it ended, exit 3, advising the runtime dir it already used)', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner', '--reads-require-token']);
    const watch = startStratctl(['status', '--watch'], { CONTROL_PLANE_URL: server.url, CONTROL_PLANE_RUNTIME_DIR: dir });
    await watch.waitFor(/active momentum/);

    await replaceAdminToken(dir, `${generateToken()}\n`);
    await server.waitFor(/admin token replaced: /);
    // A change made with the new token (stratctl reads the file per command) is heard by the watch.
    const activate = await stratctl(['activate', 'gold', '--url', server.url], { CONTROL_PLANE_RUNTIME_DIR: dir });
    expect(activate.code, activate.stderr).toBe(0);
    await watch.waitFor(/active gold/);
    // Said once; the stream it opened again is the one reconnection (no loss, no refusal said).
    expect(watch.stderr().trim().split('\n')).toEqual([
      `stratctl: ${path.join(dir, 'admin.token')} was replaced: going on with the token it holds now`,
      `reconnected to ${server.url}`,
    ]);
    watch.signal('SIGINT');
    expect(await watch.exited, watch.stderr()).toBe(130);
    await server.stop();
  });

  it('a command that read admin.token before it was replaced sends the new one after the 401, once, and says so (a read, then a change)', async () => {
    const dir = await tempRuntimeDir();
    const server = await spawnServer(dir, ['--no-runner', '--reads-require-token']);
    const notices: string[] = [];
    const settings = await resolveClientSettings({ url: server.url, 'runtime-dir': dir }, {});
    settings.notice = (line) => notices.push(line);
    expect((await execute(settings, StatusDocument)).status.configVersion).toBe(1);
    await replaceAdminToken(dir, `${generateToken()}\n`);
    expect((await execute(settings, StatusDocument)).status.configVersion).toBe(1);
    expect((await execute(settings, ActivateStrategyDocument, { strategyKey: 'gold' })).activateStrategy.configVersion).toBe(2);
    expect(notices).toEqual([`${path.join(dir, 'admin.token')} was replaced: going on with the token it holds now`]);
    await server.stop();
  });
});
