import type { ParseArgsConfig } from 'node:util';
import { ControlPlaneError, type FailureKind } from '../client/http.js';
import { type ClientSettings, resolveClientSettings } from '../client/settings.js';
import { UsageError } from '../settings.js';
import { EXIT } from './exit-codes.js';

/** The flags every client command takes (DESIGN.md: client settings). */
export const CLIENT_OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'runtime-dir': { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const CLIENT_HELP = `Connection (flags win over environment variables):
  --url <url>           GraphQL endpoint    CONTROL_PLANE_URL (http://127.0.0.1:8787/graphql)
  --token <token>       bearer token        CONTROL_PLANE_TOKEN, else <runtime-dir>/admin.token
  --runtime-dir <dir>   where admin.token is  CONTROL_PLANE_RUNTIME_DIR (./runtime)
  --json                machine-readable output on stdout
  -h, --help            this help

Exit codes: 0 ok, 1 unexpected, 2 invalid input or usage, 3 authentication or scope,
4 version conflict, 5 server unreachable, 6 --wait timed out.`;

const EXIT_BY_KIND: Record<FailureKind, number> = {
  unreachable: EXIT.unreachable,
  auth: EXIT.auth,
  input: EXIT.usage,
  conflict: EXIT.conflict,
  server: EXIT.unexpected,
};

/** What to do next, for each way a request can fail. */
function nextStep(error: ControlPlaneError, settings: ClientSettings): string {
  const first = error.errors[0];
  switch (error.code ?? error.kind) {
    case 'unreachable':
      return `Is the control plane running (npm start, or stratctl serve)? Check --url / CONTROL_PLANE_URL (now ${settings.url}).`;
    case 'UNAUTHENTICATED':
      return `Pass --token, set CONTROL_PLANE_TOKEN, or point --runtime-dir at the server's runtime directory (its admin.token). Token used: ${settings.tokenSource}.`;
    case 'FORBIDDEN':
      return `Use a token with scope ${String(first?.extensions?.requiredScope ?? 'that scope')}.`;
    case 'RATE_LIMITED':
      return 'Too many wrong tokens from here: wait a minute, then retry with the right token.';
    case 'CONFLICT':
      return `The config is now at version ${String(first?.extensions?.currentVersion)}: check it with "stratctl status", then retry with --if-version ${String(first?.extensions?.currentVersion)}.`;
    case 'CONFIG_FILE_INVALID':
      return 'The config file on the server is invalid (a hand edit?): fix it; "stratctl status" shows where.';
    case 'BAD_USER_INPUT':
      return /strategy key/.test(error.message) ? 'Run "stratctl strategies" for the valid keys.' : 'Fix the values above and retry.';
    default:
      return 'See the server log for details.';
  }
}

function describe(error: ControlPlaneError): string {
  const issues = (error.errors[0]?.extensions?.issues ?? []) as { path?: unknown[]; message: string }[];
  const lines = issues
    .filter((i) => !error.message.includes(i.message))
    .map((i) => `  ${i.path && i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`);
  return [error.message, ...lines].join('\n');
}

export interface ClientCommandContext {
  settings: ClientSettings;
  json: boolean;
  print: (text: string) => void;
}

/**
 * Resolves the client settings, runs `body`, and turns failures into a message that says what to
 * do next and DESIGN.md's exit code. Usage errors propagate to the command table (exit 2 + help).
 */
export async function runClientCommand(
  flags: { url?: string; token?: string; 'runtime-dir'?: string; json?: boolean },
  body: (ctx: ClientCommandContext) => Promise<number | undefined>,
): Promise<number> {
  const settings = await resolveClientSettings(flags, process.env);
  const print = (text: string) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  try {
    return (await body({ settings, json: flags.json ?? false, print })) ?? EXIT.ok;
  } catch (err) {
    if (!(err instanceof ControlPlaneError)) throw err;
    process.stderr.write(`error: ${describe(err)}\n${nextStep(err, settings)}\n`);
    return EXIT_BY_KIND[err.kind];
  }
}

/** Prints `value` as JSON for scripts; returns undefined so a command can `return printJson(...)`. */
export function printJson(ctx: ClientCommandContext, value: unknown): undefined {
  ctx.print(JSON.stringify(value, null, 2));
  return undefined;
}

/** A plain text table: a header row, then one row per item; columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** Positional arguments a command does not take are a usage error, not silently ignored. */
export function noPositionals(positionals: string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
}
