import {
  ControlPlaneError,
  type FailureKind,
  LIMITED_IN_FRONT,
  newSession,
  notAnEndpoint,
  TLS_NOT_TRUSTED_MESSAGE,
} from '../client/http.js';
import { type ClientSettings, DEFAULT_URL, resolveClientSettings } from '../client/settings.js';
import { snakeCase } from '../config/case.js';
import { TOO_MANY_SUBSCRIPTIONS } from '../limit-defaults.js';
import { EXIT } from './exit-codes.js';
import { type CommandContext, stoppedExitCode } from './io.js';
import { printJsonError } from './json-output.js';
import { type Flags, stringFlag } from './program.js';

const EXIT_BY_KIND: Record<FailureKind, number> = {
  unreachable: EXIT.unreachable,
  auth: EXIT.auth,
  input: EXIT.usage,
  conflict: EXIT.conflict,
  later: EXIT.tryLater,
  server: EXIT.unexpected,
};

/** How `preset set`'s refusal begins when other writers won each of its attempts. */
export const BUSY_PRESETS = 'the presets changed';

/** What to do next, for each way a request can fail. */
function nextStep(error: ControlPlaneError, settings: ClientSettings, tokenUsed: string): string {
  if (error.kind === 'input' && error.status !== undefined && (notAnEndpoint(error.status) || (error.status >= 300 && error.status < 400)))
    return `--url / CONTROL_PLANE_URL must be the GraphQL endpoint itself, e.g. ${DEFAULT_URL} (now ${settings.url}).`;
  const first = error.errors[0];
  if (error.answerLost)
    return 'Check with "stratctl status" or "stratctl history" whether it was applied before trying again (--if-version makes a retry safe).';
  switch (error.code ?? error.kind) {
    case 'unreachable':
      if (error.message.includes(TLS_NOT_TRUSTED_MESSAGE))
        return 'Retrying will not help. If the certificate is signed by your own CA (a TLS proxy in front), give it to Node: NODE_EXTRA_CA_CERTS=/path/to/ca.pem; if it names another host or has expired, fix the certificate or --url.';
      if (error.status !== undefined)
        return `Check the control plane behind it (stratctl status against it directly, its log), then retry. --url / CONTROL_PLANE_URL is ${settings.url}.`;
      return `Is the control plane running (npm start, or stratctl serve)? Check --url / CONTROL_PLANE_URL (now ${settings.url}).`;
    case 'MISDIRECTED_REQUEST':
      return `Use one of the host names above in --url / CONTROL_PLANE_URL (now ${settings.url}); the server answers to no other (it guards against DNS rebinding).`;
    case 'UNAUTHENTICATED':
      // A named token that was right but has expired: passing a token is not what is missing.
      if (typeof first?.extensions?.expiredAt === 'string')
        return `The token expired at ${first.extensions.expiredAt}: get a new secret for it ("stratctl token rotate <name>" where the tokens are kept) and pass that. Token used: ${tokenUsed}.`;
      return `Pass --token, set CONTROL_PLANE_TOKEN, or point --runtime-dir at the server's runtime directory (its admin.token). Token used: ${tokenUsed}.`;
    case 'FORBIDDEN':
      return `Use a token with scope ${String(first?.extensions?.requiredScope ?? 'that scope')}.`;
    case 'RATE_LIMITED':
      // The same code for two limits: open subscriptions per client, and wrong tokens per address.
      if (error.message.includes(LIMITED_IN_FRONT))
        return `Nothing reached the control plane: retry later. If it keeps happening, the limit is that proxy's, not the control plane's (--url / CONTROL_PLANE_URL is ${settings.url}).`;
      if (error.message.startsWith(TOO_MANY_SUBSCRIPTIONS))
        return 'This address holds as many subscriptions as the server allows (each status --watch and operator page tab holds some): end one, or start the server with a higher --max-subscriptions-per-client.';
      return 'Too many wrong tokens from this address: retry with the right token (it is never refused), or wait a minute.';
    case 'UNAVAILABLE':
      // A change sent to the store whose answer never came (a hung etcd member) may still land.
      if (first?.extensions?.outcome === 'UNKNOWN')
        return 'The change was sent to the config store, which stopped answering: check with "stratctl status" or "stratctl history" whether it was applied before trying again (--if-version makes a retry safe).';
      // Said of reads too (history, status): words that hold for both.
      return 'The config store is unreachable from the server: retry shortly (nothing was changed).';
    case 'CONFLICT':
      if (error.message.startsWith(BUSY_PRESETS)) return 'Other changes to the presets won each time: run the same command again.';
      if (error.message.startsWith('Presets version conflict'))
        return `The presets are now at version ${String(first?.extensions?.currentVersion)}: check them with "stratctl preset list", then retry with --if-version ${String(first?.extensions?.currentVersion)}.`;
      return `The config is now at version ${String(first?.extensions?.currentVersion)}: check it with "stratctl status", then retry with --if-version ${String(first?.extensions?.currentVersion)}.`;
    case 'CONFIG_FILE_INVALID':
      // Presets kept out are a valid file held back, not a broken one: what unblocks it is the config.
      if (/kept out: removing the presets/.test(error.message))
        return 'The presets on the server were removed by hand (strategies.yaml or the strategies key is gone) while the config in force uses one, so the change is held back: put them back, or activate another strategy (or drop the tunable_overrides) that uses it; "stratctl status" shows which.';
      if (/kept out: /.test(error.message))
        return 'The presets on the server were changed by hand in a way the config in force cannot follow, so the change is held back: put the preset back, or activate another strategy (or drop the tunable_overrides) that uses it; "stratctl status" shows which.';
      return 'The config file on the server is invalid (a hand edit?): fix it; "stratctl status" shows where.';
    case 'REQUEST_ENTITY_TOO_LARGE':
      return 'The request is over the server’s body limit: send less (a shorter value).';
    case 'BAD_USER_INPUT':
      return badInputHint(error.message);
    case 'GRAPHQL_VALIDATION_FAILED':
      // stratctl sends only documents it was built with: refused ones mean the server's API is another version's.
      return `The server runs another version of the API than this stratctl (GET ${new URL('/version', settings.url).href} says which): use the stratctl that came with the server, or upgrade the server.`;
    default:
      return 'See the server log for details.';
  }
}

/**
 * What to do about a BAD_USER_INPUT refusal, by what it refused: only a refusal of values the command
 * was given says to fix them; one whose message already says what to do adds nothing but that nothing changed.
 */
function badInputHint(message: string): string {
  if (message.startsWith('Response too large'))
    return 'The answer is over the server’s response limit (--max-response-bytes): ask for less (a filter, a smaller --last), or raise the limit.';
  // These say what to do themselves (activate another strategy, restore the preset, roll back elsewhere).
  if (message.startsWith('Refused: the config in force uses') || message.startsWith('Cannot roll back')) return 'Nothing was changed.';
  if (/unknown preset|only presets can be deleted/.test(message)) return 'Nothing was changed. "stratctl preset list" lists the presets.';
  // A rollback's <version> that the history does not hold: "fix the values above" pointed at nothing to fix.
  if (/^(Unknown config version|Config version \d+ has expired)/.test(message))
    return 'Nothing was changed. "stratctl history" lists the versions kept.';
  // The server's list limit without a token: "at most 100 (1000 with a token)". The command's own
  // cap may be lower than the server's with a token (audit: 800, what its cost limit fits).
  if (/^Invalid \w+: at most \d+ \(\d+ with a token\)/.test(message))
    return 'Nothing was changed. Ask for fewer, or pass a token (--token or CONTROL_PLANE_TOKEN) for more, up to the most --help gives.';
  if (/strategy key/.test(message)) return 'Run "stratctl strategies" for the valid keys.';
  if (/tunable/i.test(message)) return 'Fix the values above and retry ("stratctl strategies <base>" shows a base’s tunables and bounds).';
  return 'Fix the values above and retry.';
}

/** The API's code for a refusal; for a failure on this side, what happened. */
function errorCode(error: ControlPlaneError): string {
  if (error.code) return error.code;
  if (error.kind === 'unreachable') return 'UNREACHABLE';
  return error.status !== undefined && error.status < 500 ? 'BAD_RESPONSE' : 'INTERNAL_SERVER_ERROR';
}

/**
 * What a script needs beside `--json`'s code and message to act on a failure: an expired token's
 * `expiredAt`, a conflict's versions (the one that won is what `--if-version` takes next; it had to read the message, or ask
 * `status` again), and `outcome: "UNKNOWN"` for a change that was sent and whose answer never
 * came, here or between the server and its store (the API's `extensions.outcome`): it may have
 * been applied, so the script checks before it retries, where a refusal without it changed nothing.
 */
function jsonDetails(error: ControlPlaneError): Record<string, unknown> {
  const extensions = error.errors[0]?.extensions;
  const outcome = error.answerLost || extensions?.outcome === 'UNKNOWN' ? { outcome: 'UNKNOWN' } : {};
  // An expired named token: when, as the text says it ("The token expired at ..."); a script
  // otherwise saw a plain 401 and could not tell "rotate it" from "wrong token".
  if (error.code === 'UNAUTHENTICATED' && typeof extensions?.expiredAt === 'string') return { ...outcome, expiredAt: extensions.expiredAt };
  if (error.code !== 'CONFLICT' || !extensions) return outcome;
  const { currentVersion, expectedVersion } = extensions as { currentVersion?: unknown; expectedVersion?: unknown };
  return { ...(currentVersion !== undefined && { currentVersion }), ...(expectedVersion !== undefined && { expectedVersion }) };
}

function describe(error: ControlPlaneError): string {
  const issues = (error.errors[0]?.extensions?.issues ?? []) as { path?: unknown[]; message: string }[];
  const lines = issues
    .filter((i) => !error.message.includes(i.message))
    .map((i) => `  ${i.path && i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`);
  return [error.message, ...lines].join('\n');
}

/**
 * Until the returned function is called, a stop signal says `what` was sent and that it may or may
 * not have been applied (one line on stderr; `--json`: the failure object on stdout first, as every
 * other failure), and ends the command at once with the code the signal gives. Before, stratctl
 * ended silently (exit 130/143) though the change may have been committed: a CI job cancelled by its
 * timeout had no hint. (stdout and stderr are written synchronously to pipes and files on Linux, so
 * both are out before the exit.) Through `ctx.io`: the client once listened on the process itself,
 * so stratctl run in-process (the tests) left the caller's own signals to it.
 */
function sayWhenStopped(ctx: CommandContext, what: string, json: boolean): () => void {
  return ctx.io.onStopSignal((signal) => {
    const message = `stopped by ${signal} after ${what}, before its answer came: it may or may not have been applied`;
    if (json) printJsonError(ctx.io, 'INTERRUPTED', message, { outcome: 'UNKNOWN' });
    ctx.warn(`stratctl: ${message}; check with stratctl status or stratctl history`);
    ctx.io.exit(stoppedExitCode(signal));
  });
}

/**
 * "Token used: ..." as it went: the runtime dir's admin token held back because the server did not
 * prove that it holds it was named as if it had been sent ("Token used: /.../admin.token"), though
 * nothing was.
 */
async function tokenUsed(settings: ClientSettings): Promise<string> {
  const proof = settings.proveAdminToken ? settings.session?.adminProof : undefined;
  // Proved (the token went to the address it was proved at), or never asked: the file is what was used.
  const outcome = proof ? await proof.catch(() => undefined) : undefined;
  if (!settings.proveAdminToken || outcome === undefined || !('heldBack' in outcome)) return settings.tokenSource;
  return `none (the admin token from ${settings.proveAdminToken.file} was held back: the server did not prove that it holds it)`;
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
  settings.session = newSession();
  settings.notice = (line) => ctx.warn(`stratctl: ${line}`);
  // Whether a change went out: an answer to it that cannot be read says nothing of whether it was applied.
  let changeSent = false;
  settings.whileChangeOut = (what) => {
    changeSent = true;
    return sayWhenStopped(ctx, what, flags.json === true);
  };
  try {
    return (await body({ ...ctx, settings, json: flags.json === true })) ?? EXIT.ok;
  } catch (err) {
    // An answer without the fields stratctl reads (a proxy's own JSON, another service, another
    // version of the API): one line that says so, not a stack trace. To a change: it may or may not
    // have been applied (`outcome: "UNKNOWN"`), as for every other answer stratctl cannot read.
    if (err instanceof TypeError) {
      const message = `the answer from ${settings.url} is not what stratctl expects (${err.message})${changeSent ? '; the change may or may not have been applied' : ''}`;
      if (flags.json === true) printJsonError(ctx.io, 'BAD_RESPONSE', message, changeSent ? { outcome: 'UNKNOWN' } : {});
      ctx.warn(
        `error: ${message}\n${changeSent ? 'Check with "stratctl status" or "stratctl history" whether it was applied before trying again. ' : ''}Is --url / CONTROL_PLANE_URL this control plane's GraphQL endpoint, of the version of this stratctl?`,
      );
      return EXIT.unexpected;
    }
    if (!(err instanceof ControlPlaneError)) throw err;
    if (flags.json === true) printJsonError(ctx.io, errorCode(err), err.message, jsonDetails(err));
    ctx.warn(`error: ${describe(err)}\n${nextStep(err, settings, await tokenUsed(settings))}`);
    return EXIT_BY_KIND[err.kind];
  }
}

/** Prints `value` as JSON for scripts; returns undefined so a command can `return printJson(...)`. */
export function printJson(ctx: ClientCommandContext, value: unknown): undefined {
  ctx.print(JSON.stringify(value, null, 2));
  return undefined;
}

/**
 * A changed field as the file and the command line spell it: `scanIntervalSeconds` ->
 * `scan_interval_seconds`, `gold_fast.riskLevel` -> `gold_fast.risk_level` (strategy, preset and
 * tunable keys are lower snake_case already, so they stay as they are).
 */
export const fileKeys = (field: string) => field.split('.').map(snakeCase).join('.');

export { displayWidth, table } from './table.js';
