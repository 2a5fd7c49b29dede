import type { CliIo } from './io.js';

/**
 * Under `--json`, a failure is one JSON object on stdout, `{"error":{"code","message"}}`, beside the
 * exit code, so a script reads one stream. `code` is the API's `extensions.code` when the server
 * refused, else what happened on this side: USAGE, UNREACHABLE, NOT_FOUND, NOT_AN_ENDPOINT, BAD_RESPONSE, INTERNAL_ERROR.
 * `details`: what a script needs to act on the refusal (a conflict's `currentVersion`), beside them.
 */
export function printJsonError(io: Pick<CliIo, 'stdout'>, code: string, message: string, details: Record<string, unknown> = {}): void {
  io.stdout.write(`${JSON.stringify({ error: { code, message, ...details } })}\n`);
}

/** `--json` among a command line's options (before a `--` that ends them). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}
