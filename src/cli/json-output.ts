import { type CliIo, visible } from './io.js';

/**
 * Under `--json`, a failure is one JSON object on stdout, `{"error":{"code","message"}}`, beside the
 * exit code, so a script reads one stream. `code` is the API's `extensions.code` when the server
 * refused, else what happened on this side: USAGE, UNREACHABLE, NOT_FOUND, NOT_AN_ENDPOINT, BAD_RESPONSE, INTERNAL_ERROR,
 * and INTERRUPTED (a stop signal while a change was out: client/http.ts writes that one).
 * `details`: what a script needs to act on the refusal (a conflict's `currentVersion`; `outcome:
 * "UNKNOWN"` for a change sent whose answer never came), beside them.
 */
export function printJsonError(io: Pick<CliIo, 'stdout'>, code: string, message: string, details: Record<string, unknown> = {}): void {
  // The message is the server's (or a redirect's Location): JSON.stringify escapes C0 controls but
  // leaves C1 (U+009B is a CSI) and bidirectional overrides raw, which a terminal acts on. Escaped
  // like every other line (io.ts: visible); the JSON is the same once parsed.
  io.stdout.write(visible(`${JSON.stringify({ error: { code, message, ...details } })}\n`));
}

/** `--json` among a command line's options (before a `--` that ends them). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}
