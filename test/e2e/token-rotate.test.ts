import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { expect, it } from 'vitest';
import { STRATCTL_BIN } from '../helpers/server.js';
import { STORE_BACKENDS } from '../helpers/store-backends.js';
import { cliEnv, stratctl } from '../helpers/stratctl.js';

const ACTIVATE = 'mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }';
const ADMIN_ONLY = 'mutation { updateConfig(input: { scanIntervalSeconds: 5 }) { config { version } } }';
const TOKEN = /^[A-Za-z0-9_-]{40,}$/;

/**
 * The built stratctl as a process whose stdout cannot take what it writes: `reader-gone`, a pipe
 * whose reader has closed it (`stratctl token rotate x | a-secret-store-cli-that-failed`: its one
 * end closed here before the command has even started Node), or `full`, /dev/full (`> file` on a
 * full disk).
 */
async function withBrokenStdout(stdout: 'reader-gone' | 'full', args: readonly string[]) {
  const full = stdout === 'full' ? openSync('/dev/full', 'w') : undefined;
  try {
    const child = spawn(process.execPath, [STRATCTL_BIN, ...args], { env: cliEnv(), stdio: ['ignore', full ?? 'pipe', 'pipe'] });
    child.stdout?.destroy();
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'close');
    return { code, stderr };
  } finally {
    if (full !== undefined) closeSync(full);
  }
}

/**
 * The built stratctl with a stdout that takes every write and keeps nothing: `dev-null`, an fd opened
 * on /dev/null (`> /dev/null`), or `closed`, stdout closed before start (`>&-`, through a shell),
 * which Node reopens on /dev/null. No write fails, so only the fd itself says the secret is lost.
 */
async function withDiscardedStdout(stdout: 'dev-null' | 'closed', args: readonly string[]) {
  const devNull = stdout === 'dev-null' ? openSync('/dev/null', 'w') : undefined;
  try {
    const child =
      devNull !== undefined
        ? spawn(process.execPath, [STRATCTL_BIN, ...args], { env: cliEnv(), stdio: ['ignore', devNull, 'pipe'] })
        : spawn('sh', ['-c', 'exec "$0" "$@" >&-', process.execPath, STRATCTL_BIN, ...args], {
            env: cliEnv(),
            stdio: ['ignore', 'pipe', 'pipe'],
          });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    const [code] = await once(child, 'close');
    // Closed by the shell before stratctl ran: nothing of it comes through the pipe sh was given.
    expect(out).toBe('');
    return { code, stderr };
  } finally {
    if (devNull !== undefined) closeSync(devNull);
  }
}

// `stratctl token rotate <name>` through the real CLI, on a real server's store (tokens.yaml, or
// etcd's tokens/<name>): the old secret is refused from the next request on, no restart, and the
// name (the audit actor) and scope stay.
for (const backend of STORE_BACKENDS) {
  backend.describe(`stratctl token rotate (${backend.name} store)`, () => {
    it('a new secret for the same name and scope, printed once; the old one refused on the next request; the history keeps one actor', async () => {
      const server = await backend.start({ runner: false });
      const args = server.storeArgs;
      const created = await stratctl(['token', 'create', '--name', 'ci-deploy', '--scope', 'operate', ...args]);
      expect(created.code, created.stderr).toBe(0);
      const oldToken = created.stdout.trim();
      expect((await server.gql(ACTIVATE, { key: 'gold' }, oldToken)).status).toBe(200);
      const [before] = JSON.parse((await stratctl(['token', 'list', '--json', ...args])).stdout);

      const rotated = await stratctl(['token', 'rotate', 'ci-deploy', ...args]);
      expect(rotated.code, rotated.stderr).toBe(0);
      const newToken = rotated.stdout.trim();
      expect(rotated.stdout).toBe(`${newToken}\n`);
      expect(newToken).toMatch(TOKEN);
      expect(newToken).not.toBe(oldToken);
      expect(rotated.stderr).toBe(
        'token "ci-deploy" (scope operate) rotated: the old secret is refused from the next request on; the new one is shown only this once: store it now.\n',
      );

      const old = await server.gql(ACTIVATE, { key: 'range' }, oldToken);
      expect(old.status).toBe(401);
      expect(old.body.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
      expect((await server.gql(ACTIVATE, { key: 'range' }, newToken)).status).toBe(200);
      // The same scope: operate, not admin.
      expect((await server.gql(ADMIN_ONLY, undefined, newToken)).status).toBe(403);
      // One name across the rotation: the audit trail reads as one actor.
      const history = await server.gql('{ configHistory(last: 2) { version actor } }');
      expect(history.body.data?.configHistory).toEqual([
        { version: 3, actor: 'ci-deploy' },
        { version: 2, actor: 'ci-deploy' },
      ]);
      const [after, ...more] = JSON.parse((await stratctl(['token', 'list', '--json', ...args])).stdout);
      expect(more).toEqual([]);
      expect(after).toMatchObject({ name: 'ci-deploy', scope: 'operate' });
      // CREATED is the age of the secret in use (what a rotation schedule goes by).
      expect(Date.parse(after.createdAt)).toBeGreaterThanOrEqual(Date.parse(before.createdAt));

      const json = await stratctl(['token', 'rotate', 'ci-deploy', '--json', ...args]);
      expect(json.code, json.stderr).toBe(0);
      const answer = JSON.parse(json.stdout);
      expect(answer).toEqual({ name: 'ci-deploy', scope: 'operate', token: expect.stringMatching(TOKEN), expiresAt: null });
      expect((await server.gql('{ status { configVersion } }', undefined, newToken)).status).toBe(401);
      expect((await server.gql('{ status { configVersion } }', undefined, answer.token)).status).toBe(200);
    });

    it('a secret stdout does not take (its reader gone, a full disk): exit 1 saying so, and the rotation or creation is undone', async () => {
      const server = await backend.start({ runner: false });
      const args = server.storeArgs;
      const oldToken = (await stratctl(['token', 'create', '--name', 'ci-deploy', '--scope', 'operate', ...args])).stdout.trim();
      const listed = (await stratctl(['token', 'list', '--json', ...args])).stdout;
      const undone = 'the new secret was never shown; the rotation is undone: token "ci-deploy" keeps its previous secret\n';
      const gone = await withBrokenStdout('reader-gone', ['token', 'rotate', 'ci-deploy', ...args]);
      // It was exit 0 (a reader going away is not a failure for other commands), with the old secret refused.
      expect(gone.code).toBe(1);
      expect(gone.stderr).toBe(`stratctl token rotate: stdout could not be written (EPIPE: its reader went away), so ${undone}`);
      expect((await server.gql(ACTIVATE, { key: 'gold' }, oldToken)).status).toBe(200);
      // The very record it had (its created_at too): as if the rotation had never run.
      expect((await stratctl(['token', 'list', '--json', ...args])).stdout).toBe(listed);

      const full = await withBrokenStdout('full', ['token', 'rotate', 'ci-deploy', '--json', ...args]);
      expect(full.code).toBe(1);
      expect(full.stderr).toBe(`stratctl token rotate: stdout could not be written (ENOSPC), so ${undone}`);
      expect((await server.gql(ACTIVATE, { key: 'range' }, oldToken)).status).toBe(200);
      expect((await stratctl(['token', 'list', '--json', ...args])).stdout).toBe(listed);

      // An admin token nobody holds is not left behind.
      for (const stdout of ['reader-gone', 'full'] as const) {
        const created = await withBrokenStdout(stdout, ['token', 'create', '--name', 'ci-other', '--scope', 'admin', ...args]);
        expect(created.code, stdout).toBe(1);
        expect(created.stderr, stdout).toMatch(
          /^stratctl token create: stdout could not be written \((EPIPE: its reader went away|ENOSPC)\), so the new secret was never shown; the creation is undone: no token "ci-other" was made\n$/,
        );
        expect((await stratctl(['token', 'list', '--json', ...args])).stdout, stdout).toBe(listed);
      }
      // Written whole, the same commands work as before.
      const rotated = await stratctl(['token', 'rotate', 'ci-deploy', ...args]);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect((await server.gql(ACTIVATE, { key: 'gold' }, oldToken)).status).toBe(401);
      expect((await server.gql(ACTIVATE, { key: 'gold' }, rotated.stdout.trim())).status).toBe(200);
    });

    it('stdout is /dev/null (`> /dev/null`, or closed: `>&-`): refused before anything is made or rotated, exit 2', async () => {
      const server = await backend.start({ runner: false });
      const args = server.storeArgs;
      const oldToken = (await stratctl(['token', 'create', '--name', 'ci-deploy', '--scope', 'operate', ...args])).stdout.trim();
      const listed = (await stratctl(['token', 'list', '--json', ...args])).stdout;
      const advice = 'send stdout to a file (> token.txt) or a pipe (| your-secret-store) and run it again';
      for (const stdout of ['dev-null', 'closed'] as const) {
        for (const json of [[], ['--json']]) {
          // It was exit 0: the old secret refused and the new one written nowhere.
          const rotated = await withDiscardedStdout(stdout, ['token', 'rotate', 'ci-deploy', ...json, ...args]);
          expect(rotated.code, `${stdout} ${json}`).toBe(2);
          expect(rotated.stderr, `${stdout} ${json}`).toBe(
            `stratctl token rotate: stdout is /dev/null (redirected there, or closed), so the new secret would be lost: nothing was rotated: token "ci-deploy" keeps its current secret; ${advice}\nsee stratctl token rotate --help\n`,
          );
          expect((await server.gql(ACTIVATE, { key: 'gold' }, oldToken)).status).toBe(200);
          expect((await stratctl(['token', 'list', '--json', ...args])).stdout).toBe(listed);
          // And an admin token nobody holds.
          const created = await withDiscardedStdout(stdout, [
            'token',
            'create',
            '--name',
            'ci-other',
            '--scope',
            'admin',
            ...json,
            ...args,
          ]);
          expect(created.code, `${stdout} ${json}`).toBe(2);
          expect(created.stderr, `${stdout} ${json}`).toBe(
            `stratctl token create: stdout is /dev/null (redirected there, or closed), so the new secret would be lost: no token was made; ${advice}\nsee stratctl token create --help\n`,
          );
          expect((await stratctl(['token', 'list', '--json', ...args])).stdout).toBe(listed);
        }
      }
      if (backend.name === 'file') expect(await readFile(path.join(server.runtimeDir, 'tokens.yaml'), 'utf8')).not.toContain('ci-other');
      // A stdout that keeps what it is given (a file) works as before.
      const rotated = await stratctl(['token', 'rotate', 'ci-deploy', ...args]);
      expect(rotated.code, rotated.stderr).toBe(0);
      expect((await server.gql(ACTIVATE, { key: 'gold' }, rotated.stdout.trim())).status).toBe(200);
    });

    it('an unknown name: exit 2, NOT_FOUND under --json, and nothing changes', async () => {
      const server = await backend.start({ runner: false });
      const args = server.storeArgs;
      const token = (await stratctl(['token', 'create', '--name', 'desk', '--scope', 'read', ...args])).stdout.trim();
      const listed = (await stratctl(['token', 'list', '--json', ...args])).stdout;
      const [text, json] = [
        await stratctl(['token', 'rotate', 'nope', ...args]),
        await stratctl(['token', 'rotate', 'nope', '--json', ...args]),
      ];
      expect([text.code, text.stdout]).toEqual([2, '']);
      expect(text.stderr).toMatch(/^stratctl token rotate: no token named "nope"/);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toEqual({ error: { code: 'NOT_FOUND', message: 'no token named "nope"' } });
      expect((await stratctl(['token', 'list', '--json', ...args])).stdout).toBe(listed);
      expect((await server.gql('{ status { configVersion } }', undefined, token)).status).toBe(200);
      if (backend.name === 'file') {
        const file = path.join(server.runtimeDir, 'tokens.yaml');
        expect(await readFile(file, 'utf8')).not.toContain('nope');
        expect((await stat(file)).mode & 0o777).toBe(0o600);
      }
    });
  });
}
