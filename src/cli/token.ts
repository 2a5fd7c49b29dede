import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileTokenStore } from '../auth/file-token-store.js';
import { isScope } from '../auth/scopes.js';
import { TokenFileError } from '../auth/token-file.js';
import type { TokenStore } from '../auth/token-store.js';
import { StoreUnavailableError } from '../config/errors.js';
import { defaultRegistry } from '../registry/index.js';
import { UsageError } from '../settings.js';
import { resolveStoreSettings, STORE_OPTIONS_HELP, STORE_PARSE_OPTIONS, type StoreSettings } from '../store-settings.js';
import { EXIT } from './exit-codes.js';

export const help = `Usage:
  stratctl token create --name <name> --scope read|operate|admin   prints the new token, once
  stratctl token list                                             names, scopes, creation times
  stratctl token revoke <name>                                    refused from the next request on

Named API tokens live in <runtime-dir>/tokens.yaml as SHA-256 digests (never the token). The server
re-reads the file when it changes: no restart. Scopes: read (queries), operate (activateStrategy;
implies read), admin (updateConfig, rollbackConfig; implies both).

With --store etcd://... they live in etcd (tokens/<name>, hashed), shared by every API replica.

Options:
  --runtime-dir <dir>   CONTROL_PLANE_RUNTIME_DIR (./runtime)
${STORE_OPTIONS_HELP}
  -h, --help            this help
`;

/** The token store a command works on: tokens.yaml in the runtime dir, or etcd's tokens/ keys. */
async function openTokens(runtimeDir: string, store: StoreSettings): Promise<TokenStore> {
  if (store.kind === 'file') return fileTokenStore(runtimeDir);
  const { openEtcdStores } = await import('../store-etcd/index.js');
  const stores = await openEtcdStores(store.url, { registry: defaultRegistry, tls: store.tls, auth: store.auth });
  return { ...stores.tokens, close: () => stores.close() };
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      name: { type: 'string' },
      scope: { type: 'string' },
      'runtime-dir': { type: 'string' },
      ...STORE_PARSE_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  const runtimeDir = path.resolve(values['runtime-dir'] ?? process.env.CONTROL_PLANE_RUNTIME_DIR ?? 'runtime');
  const [action, ...rest] = positionals;
  if (!['create', 'list', 'revoke'].includes(action ?? '')) {
    throw new UsageError(action ? `unknown action "${action}"` : 'an action is required: create, list or revoke');
  }
  let tokens: TokenStore | undefined;
  try {
    tokens = await openTokens(runtimeDir, resolveStoreSettings(values, process.env));
    switch (action) {
      case 'create': {
        if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
        if (!values.name) throw new UsageError('--name is required');
        if (!values.scope || !isScope(values.scope)) throw new UsageError('--scope must be read, operate or admin');
        const token = await tokens.create(values.name, values.scope);
        process.stdout.write(`${token}\n`);
        process.stderr.write(`token "${values.name}" (scope ${values.scope}) created; it is shown only this once: store it now.\n`);
        return EXIT.ok;
      }
      case 'list': {
        const list = await tokens.list();
        if (list.length === 0) process.stderr.write('no named tokens (the admin token is admin.token or CONTROL_PLANE_TOKEN)\n');
        for (const t of list) process.stdout.write(`${t.name}\t${t.scope}\t${t.createdAt}\n`);
        return EXIT.ok;
      }
      case 'revoke': {
        const [name, extra] = rest;
        if (!name || extra !== undefined) throw new UsageError('revoke takes exactly one token name');
        if (!(await tokens.revoke(name))) {
          process.stderr.write(`stratctl token: no token named "${name}"\n`);
          return EXIT.usage;
        }
        process.stderr.write(`token "${name}" revoked; the server refuses it from the next request on\n`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(action ? `unknown action "${action}"` : 'an action is required: create, list or revoke');
    }
  } catch (err) {
    if (err instanceof TokenFileError) {
      process.stderr.write(`stratctl token: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof StoreUnavailableError) {
      process.stderr.write(`stratctl token: ${err.message}; try again later\n`);
      return EXIT.tryLater;
    }
    throw err;
  } finally {
    await tokens?.close();
  }
}
