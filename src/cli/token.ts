import path from 'node:path';
import { isScope } from '../auth/scopes.js';
import { createToken, readTokenFile, revokeToken, TOKENS_FILE, TokenFileError } from '../auth/token-file.js';
import { UsageError } from '../usage-error.js';
import { EXIT } from './exit-codes.js';
import { printJsonError } from './json-output.js';
import { type Action, stringFlag } from './program.js';

/** `stratctl token create | list | revoke`: named tokens in <runtime-dir>/tokens.yaml. */
export const token: Action = async (flags, args, ctx, command) => {
  const runtimeDir = path.resolve(stringFlag(flags, 'runtime-dir') ?? ctx.io.env.CONTROL_PLANE_RUNTIME_DIR ?? 'runtime');
  const json = flags.json === true;
  const printJson = (value: unknown) => ctx.print(JSON.stringify(value, null, 2));
  try {
    switch (command.name()) {
      case 'create': {
        const name = stringFlag(flags, 'name') as string;
        const scope = stringFlag(flags, 'scope') as string;
        if (!isScope(scope)) throw new UsageError('--scope must be read, operate or admin');
        const created = await createToken(runtimeDir, name, scope);
        if (json) printJson({ name, scope, token: created });
        else ctx.print(created);
        ctx.warn(`token "${name}" (scope ${scope}) created; it is shown only this once: store it now.`);
        return EXIT.ok;
      }
      case 'list': {
        const tokens = await readTokenFile(path.join(runtimeDir, TOKENS_FILE));
        if (json) {
          printJson(tokens.map((t) => ({ name: t.name, scope: t.scope, createdAt: t.createdAt })));
          return EXIT.ok;
        }
        if (tokens.length === 0) ctx.warn('no named tokens (the admin token is admin.token or CONTROL_PLANE_TOKEN)');
        for (const t of tokens) ctx.print(`${t.name}\t${t.scope}\t${t.createdAt}`);
        return EXIT.ok;
      }
      default: {
        const [name] = args as [string];
        if (!(await revokeToken(runtimeDir, name))) {
          if (json) printJsonError(ctx.io, 'NOT_FOUND', `no token named "${name}"`);
          ctx.warn(`stratctl token: no token named "${name}"`);
          return EXIT.usage;
        }
        if (json) printJson({ revoked: name });
        ctx.warn(`token "${name}" revoked; the server refuses it from the next request on`);
        return EXIT.ok;
      }
    }
  } catch (err) {
    if (err instanceof TokenFileError) {
      if (json) printJsonError(ctx.io, 'BAD_USER_INPUT', err.message);
      ctx.warn(`stratctl token: ${err.message}`);
      return EXIT.usage;
    }
    throw err;
  }
};
