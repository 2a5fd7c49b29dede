import { ControlPlaneError, type FailureKind } from '../client/http.js';
import { type ClientSettings, resolveClientSettings } from '../client/settings.js';
import { EXIT } from './exit-codes.js';
import type { CommandContext } from './io.js';
import { type Flags, stringFlag } from './program.js';

const EXIT_BY_KIND: Record<FailureKind, number> = {
  unreachable: EXIT.unreachable,
  auth: EXIT.auth,
  input: EXIT.usage,
  conflict: EXIT.conflict,
  later: EXIT.tryLater,
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

export interface ClientCommandContext extends CommandContext {
  settings: ClientSettings;
  json: boolean;
}

/**
 * Resolves the client settings, runs `body`, and turns failures into a message that says what to
 * do next and DESIGN.md's exit code. Usage errors propagate to runCli (exit 2, one line).
 */
export async function runClientCommand(
  flags: Flags,
  ctx: CommandContext,
  body: (ctx: ClientCommandContext) => Promise<number | undefined>,
): Promise<number> {
  const settings = await resolveClientSettings(
    { url: stringFlag(flags, 'url'), token: stringFlag(flags, 'token'), 'runtime-dir': stringFlag(flags, 'runtime-dir') },
    ctx.io.env,
  );
  try {
    return (await body({ ...ctx, settings, json: flags.json === true })) ?? EXIT.ok;
  } catch (err) {
    if (!(err instanceof ControlPlaneError)) throw err;
    ctx.warn(`error: ${describe(err)}\n${nextStep(err, settings)}`);
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
