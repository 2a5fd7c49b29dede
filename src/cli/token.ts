import { statSync } from 'node:fs';
import { fileTokenStore } from '../auth/file-token-store.js';
import { isScope } from '../auth/scopes.js';
import { isReservedTokenName, TokenWriteError, tokenDigest } from '../auth/token-file.js';
import { type StoredToken, TokenRefusedError, type TokenStore } from '../auth/token-store.js';
import { ACCESS_REFUSED_HINT, StoreOutcomeUnknownError, StoreRefusedError, StoreUnavailableError } from '../config/errors.js';
import { runtimeDirSetting } from '../env-setting.js';
import { RuntimeFileRefusedError } from '../fs/runtime-file.js';
import { defaultRegistry } from '../registry/index.js';
import { RuntimeDirMigratingError, RuntimeDirMovedError, refuseMarkedRuntimeDir } from '../runtime-dir.js';
import { resolveStoreSettings, type StoreFlags, type StoreSettings } from '../store-settings.js';
import { UsageError } from '../usage-error.js';
import { sharedYamlParser } from '../yaml/off-thread.js';
import { requireExistingRuntimeDir } from './existing-runtime-dir.js';
import { EXIT } from './exit-codes.js';
import { type CommandContext, visible } from './io.js';
import { printJsonError } from './json-output.js';
import { type Action, stringFlag } from './program.js';
import { table } from './table.js';
import { expiryFlags } from './token-expiry.js';

/** The token store a command works on: tokens.yaml in the runtime dir, or etcd's tokens/ keys. */
async function openTokens(runtimeDir: string, store: StoreSettings): Promise<TokenStore> {
  if (store.kind === 'file') return fileTokenStore(runtimeDir);
  const { openEtcdStores } = await import('../store-etcd/index.js');
  const stores = await openEtcdStores(store.url, { registry: defaultRegistry, tls: store.tls, auth: store.auth });
  // A prefix the deployment moved out of, or one a migration into did not finish: a token made
  // there is one no server reads (and `migrate --force` would delete it), as in a marked directory.
  const marked = await stores.unfinishedMigration().catch(async (err: unknown) => {
    await stores.close();
    throw err;
  });
  if (marked) {
    await stores.close();
    throw new TokenRefusedError(`${store.url} takes no tokens: ${marked.problems.map((p) => p.message).join('; ')}`);
  }
  return { ...stores.tokens, close: () => stores.close() };
}

/**
 * `sudo stratctl token create` in the runtime directory of a service that runs as its own user wrote
 * tokens.yaml as root, mode 0600: the service could not read it, and every named token was refused
 * while the command said "created". Run as root on a directory another user owns, the command acts
 * as that user (its uid and gid), so what it writes is the service's, and the service's files pass
 * the ownership check (a secret must be the reader's own).
 */
async function actAsRuntimeDirOwner(runtimeDir: string, ctx: CommandContext, where: string): Promise<void> {
  if (process.getuid?.() !== 0 || !process.setuid || !process.setgid) return;
  const { uid, gid } = statSync(runtimeDir);
  if (uid === 0) return;
  // The YAML thread (which reads tokens.yaml for `list`) is loaded now, as root: loaded after the
  // switch, its file may be one that user cannot read (a copy in /root, a 0700 home), a crash.
  await sharedYamlParser().parse('');
  process.setgroups?.([gid]);
  process.setgid(gid);
  process.setuid(uid);
  ctx.warn(`${where}: running as the owner of ${runtimeDir} (uid ${uid}), so the server can read what this writes`);
}

/** `token list`'s EXPIRES: the time, `never`, or the time and `(expired)` for one the server refuses now (by this host's clock). */
function expiresColumn(expiresAt: string | undefined, now: number): string {
  if (expiresAt === undefined) return 'never';
  return Date.parse(expiresAt) <= now ? `${expiresAt} (expired)` : expiresAt;
}

/**
 * What to do after a token write whose outcome is unknown (sent; no answer; not found when looked
 * for, yet it may still land). A create's or rotation's secret was never shown, so a token it made
 * is one nobody holds; a revoke not found done may leave the token accepted.
 */
export function unknownTokenWrite(command: string, name: string | undefined): string {
  if (command === 'revoke') return `the token may still be accepted: when etcd answers, run "stratctl token revoke ${name}" again`;
  return command === 'rotate'
    ? `the old secret may already be refused, and the new one was never shown: when etcd answers, run "stratctl token rotate ${name}" again for a secret that works`
    : 'if "stratctl token list" lists it once etcd answers, its secret was never shown: revoke it and create it again';
}

/** What stands after a token write that failed before tokens.yaml changed. */
function unchangedTokens(command: string, name: string | undefined): string {
  if (command === 'revoke') return `nothing changed; token "${name}" is still valid`;
  if (command === 'rotate') return `nothing changed; token "${name}" keeps its current secret`;
  return `nothing changed; no token "${name}" was made`;
}

/**
 * Why `token create` or `token rotate` refuses a stdout that is /dev/null (`> /dev/null`, or `>&-`:
 * Node reopens a closed stdout on /dev/null): the one-time secret would be written nowhere.
 */
export function discardedSecret(command: string, name: string | undefined): string {
  const unchanged = command === 'rotate' ? `nothing was rotated: token "${name}" keeps its current secret` : 'no token was made';
  return `stdout is /dev/null (redirected there, or closed), so the new secret would be lost: ${unchanged}; send stdout to a file (> token.txt) or a pipe (| your-secret-store) and run it again`;
}

/**
 * Prints a one-time secret (or the JSON holding it) and resolves to the error that kept stdout from
 * taking it, if any (io.writeConfirmed): EPIPE too, which other commands take as their reader's
 * choice to stop reading (`| head -1`); here it is a secret nobody got.
 */
function printSecret(ctx: CommandContext, text: string): Promise<NodeJS.ErrnoException | undefined> {
  const line = visible(`${text}\n`);
  if (ctx.io.writeConfirmed) return ctx.io.writeConfirmed(line);
  ctx.io.stdout.write(line);
  return Promise.resolve(undefined);
}

/**
 * A create or rotation whose secret stdout did not take (its reader gone, a full disk behind `>`):
 * the change is undone (TokenStore.restore: the created token removed, the rotated one's previous
 * record put back, so its old secret works again), and the command fails (exit 1) saying so. It
 * was exit 0 on EPIPE, and the change stood either way: an admin token nobody held, or a rotation
 * whose old secret was refused and whose new one was lost.
 */
async function undoUnshownSecret(
  tokens: TokenStore,
  what: { command: 'create' | 'rotate'; name: string; sha256: string; previous?: StoredToken },
  failure: NodeJS.ErrnoException,
  ctx: CommandContext,
  json: boolean,
): Promise<number> {
  const { command, name } = what;
  const cause = failure.code ?? failure.message;
  const why = `stdout could not be written (${cause}${failure.code === 'EPIPE' ? ': its reader went away' : ''}), so the new secret was never shown`;
  let outcome: string;
  try {
    if (!(await tokens.restore(name, what.sha256, what.previous)))
      outcome = `token "${name}" was changed meanwhile by another command: left as it is`;
    else if (command === 'rotate') outcome = `the rotation is undone: token "${name}" keeps its previous secret`;
    else outcome = `the creation is undone: no token "${name}" was made`;
  } catch (err) {
    const undo = (err as Error).message;
    outcome =
      command === 'rotate'
        ? `undoing the rotation failed too (${undo}): the old secret may be refused and the new one was never shown: run "stratctl token rotate ${name}" again`
        : `undoing the creation failed too (${undo}): token "${name}" may exist with a secret nobody holds: run "stratctl token revoke ${name}"`;
  }
  const message = `${why}; ${outcome}`;
  // Under --json a failure is one object on stdout, as always (it may not get there either; stderr says it).
  if (json) printJsonError(ctx.io, 'OUTPUT_FAILED', message);
  ctx.warn(`stratctl token ${command}: ${message}`);
  return EXIT.unexpected;
}

/** `stratctl token create | list | rotate | revoke`: named tokens in <runtime-dir>/tokens.yaml, or in etcd with --store. */
export const token: Action = async (flags, args, ctx, command) => {
  const runtimeDir = runtimeDirSetting(stringFlag(flags, 'runtime-dir'), ctx.io.env);
  const json = flags.json === true;
  // Named as every other message of a command names it (`stratctl token create: --scope must be ...`).
  const where = `stratctl token ${command.name()}`;
  const printJson = (value: unknown) => ctx.print(JSON.stringify(value, null, 2));
  let tokens: TokenStore | undefined;
  try {
    // Judged before any store is opened: nonsense is refused (exit 2) and changes nothing, whatever the store's state.
    const makesSecret = command.name() === 'create' || command.name() === 'rotate';
    const expiry = makesSecret ? expiryFlags(flags) : {};
    // A secret printed to /dev/null is lost though the write "succeeds" (undoUnshownSecret never hears
    // of it): refused before anything is made or rotated (exit 2), where it stood, exit 0, unheld.
    if (makesSecret && ctx.io.stdoutDiscarded?.()) throw new UsageError(discardedSecret(command.name(), args[0]));
    const store = resolveStoreSettings(flags as StoreFlags, ctx.io.env);
    // Tokens are not audited (`tokens.yaml`, etcd's `tokens/<name>`): on either store the flag
    // would change nothing, and was taken on etcd without a word.
    if (store.auditKeep !== undefined)
      throw new UsageError(
        '--audit-keep: stratctl token does not write the audit trail, on either store (the server does): give it to stratctl serve',
      );
    // A mistyped --runtime-dir made a new directory and a token no server reads (or listed none).
    if (store.kind === 'file') {
      requireExistingRuntimeDir(runtimeDir, "or create it first to prepare tokens before the server's first start");
      // A token made in a directory the deployment moved out of is one no server reads.
      await refuseMarkedRuntimeDir(runtimeDir);
      await actAsRuntimeDirOwner(runtimeDir, ctx, where);
    }
    tokens = await openTokens(runtimeDir, store);
    switch (command.name()) {
      case 'create': {
        const name = stringFlag(flags, 'name') as string;
        const scope = stringFlag(flags, 'scope') as string;
        if (!isScope(scope)) throw new UsageError(`--scope must be read, operate or admin, not "${scope}"`);
        const created = await tokens.create(name, scope, expiry);
        // As stored (--expires-in counts from the created_at the store wrote); the digest names this very secret.
        const expiresAt = expiry.expiresAt || expiry.expiresInMs ? ((await tokens.find(tokenDigest(created)))?.expiresAt ?? null) : null;
        const unshown = await printSecret(ctx, json ? JSON.stringify({ name, scope, token: created, expiresAt }, null, 2) : created);
        if (unshown) return await undoUnshownSecret(tokens, { command: 'create', name, sha256: tokenDigest(created) }, unshown, ctx, json);
        ctx.warn(
          `token "${name}" (scope ${scope}${expiresAt ? `, expires at ${expiresAt}` : ''}) created; it is shown only this once: store it now.`,
        );
        return EXIT.ok;
      }
      case 'list': {
        const list = await tokens.list();
        const now = Date.now();
        // Listed, so it can be seen and revoked; the server refuses it (file-token-store.ts).
        for (const t of list.filter((t) => isReservedTokenName(t.name)))
          ctx.warn(`token "${t.name}" has a reserved name: the server refuses it; "stratctl token revoke ${t.name}" removes it`);
        if (json) {
          printJson(list.map((t) => ({ name: t.name, scope: t.scope, createdAt: t.createdAt, expiresAt: t.expiresAt ?? null })));
          return EXIT.ok;
        }
        // None: said on stderr, and no bare header (as history, audit and preset list say an empty list).
        if (list.length === 0) ctx.warn('no named tokens (the admin token is admin.token or CONTROL_PLANE_TOKEN)');
        else
          ctx.print(
            table(
              ['NAME', 'SCOPE', 'CREATED', 'EXPIRES'],
              list.map((t) => [t.name, t.scope, t.createdAt, expiresColumn(t.expiresAt, now)]),
            ),
          );
        return EXIT.ok;
      }
      case 'rotate': {
        // A new secret for the same name (the audit actor) and scope: revoke + create under a new name broke the history.
        const [name] = args as [string];
        const rotated = await tokens.rotate(name, expiry);
        if (rotated === null) {
          if (json) printJsonError(ctx.io, 'NOT_FOUND', `no token named "${name}"`);
          ctx.warn(`${where}: no token named "${name}" ("stratctl token list" lists them; "stratctl token create" makes one)`);
          return EXIT.usage;
        }
        const unshown = await printSecret(
          ctx,
          json
            ? JSON.stringify({ name, scope: rotated.scope, token: rotated.token, expiresAt: rotated.expiresAt ?? null }, null, 2)
            : rotated.token,
        );
        if (unshown)
          return await undoUnshownSecret(
            tokens,
            { command: 'rotate', name, sha256: tokenDigest(rotated.token), previous: rotated.previous },
            unshown,
            ctx,
            json,
          );
        ctx.warn(
          `token "${name}" (scope ${rotated.scope}${rotated.expiresAt ? `, expires at ${rotated.expiresAt}` : ''}) rotated: the old secret is refused from the next request on; the new one is shown only this once: store it now.`,
        );
        return EXIT.ok;
      }
      default: {
        const [name] = args as [string];
        if (!(await tokens.revoke(name))) {
          if (json) printJsonError(ctx.io, 'NOT_FOUND', `no token named "${name}"`);
          ctx.warn(`${where}: no token named "${name}"`);
          return EXIT.usage;
        }
        if (json) printJson({ revoked: name });
        ctx.warn(`token "${name}" revoked; the server refuses it from the next request on`);
        return EXIT.ok;
      }
    }
  } catch (err) {
    // A bad name or scope, or a tokens.yaml refused as it stands (anyone may write it, a link, too
    // large: the message says how to fix it): this command's input, exit 2 (DESIGN's stratctl codes).
    if (
      err instanceof TokenRefusedError ||
      err instanceof RuntimeFileRefusedError ||
      err instanceof RuntimeDirMovedError ||
      err instanceof RuntimeDirMigratingError
    ) {
      if (json) printJsonError(ctx.io, 'BAD_USER_INPUT', err.message);
      ctx.warn(`${where}: ${err.message}`);
      return EXIT.usage;
    }
    // A full or read-only disk: one line naming what could not be written and that nothing changed
    // (a failed write is 1, DESIGN's stratctl codes), not "unexpected error" and a stack.
    if (err instanceof TokenWriteError) {
      const message = `${err.message}: ${unchangedTokens(command.name(), args[0] ?? stringFlag(flags, 'name'))}`;
      if (json) printJsonError(ctx.io, 'WRITE_FAILED', message, err.errno ? { errno: err.errno } : {});
      ctx.warn(`${where}: ${message}`);
      return EXIT.unexpected;
    }
    // etcd refused the user, password or rights: a setting, which trying again does not fix (exit 2, as serve says it).
    if (err instanceof StoreUnavailableError && err.accessRefused) {
      const message = `etcd refused the request (${err.detail}); ${ACCESS_REFUSED_HINT}`;
      if (json) printJsonError(ctx.io, 'BAD_USER_INPUT', message);
      ctx.warn(`${where}: ${message}`);
      return EXIT.usage;
    }
    if (err instanceof StoreUnavailableError) {
      const message = `${err.message}${err.detail ? ` (${err.detail})` : ''}`;
      const unknown = err instanceof StoreOutcomeUnknownError;
      // As the API and the other commands say it under --json: the write may have landed.
      if (json) printJsonError(ctx.io, 'UNAVAILABLE', message, unknown ? { outcome: 'UNKNOWN' } : {});
      ctx.warn(`${where}: ${message}; ${unknown ? unknownTokenWrite(command.name(), args[0]) : 'try again later'}`);
      return EXIT.tryLater;
    }
    if (err instanceof StoreRefusedError) {
      if (json) printJsonError(ctx.io, 'INTERNAL_ERROR', err.message);
      ctx.warn(`${where}: ${err.message}`);
      return EXIT.unexpected;
    }
    // A path this user may not reach (run as root on a directory another user owns, it acts as that
    // user: a directory above it that user cannot enter): said, with what to fix, not "unexpected
    // error" and a stack. Exit 1, as a failed write is (DESIGN's stratctl codes).
    const denied = err as NodeJS.ErrnoException;
    if ((denied.code === 'EACCES' || denied.code === 'EPERM') && denied.path) {
      const message = `${denied.path}: permission denied (${denied.code}) to uid ${process.getuid?.() ?? '?'}: the runtime directory and each directory above it must be reachable by the user it runs as (the directory's owner, when run as root); nothing was changed`;
      if (json) printJsonError(ctx.io, 'PERMISSION_DENIED', message);
      ctx.warn(`${where}: ${message}`);
      return EXIT.unexpected;
    }
    throw err;
  } finally {
    await tokens?.close();
  }
};
