import path from 'node:path';
import { envSetting, runtimeDirSetting, WorkingDirectoryGoneError } from '../env-setting.js';
import { RuntimeFileRefusedError, readRuntimeBytes } from '../fs/runtime-file.js';
import { UsageError } from '../usage-error.js';
import type { ClientOptions } from './http.js';
import { isLoopbackUrl } from './loopback.js';

/**
 * `<runtime-dir>/admin.token` (DESIGN: client settings), the same name as auth/tokens.ts's
 * ADMIN_TOKEN_FILE: importing that module would load the token store (yaml, zod) into every stratctl call.
 */
export const ADMIN_TOKEN_FILE = 'admin.token';

export const DEFAULT_URL = 'http://127.0.0.1:8787/graphql';

/**
 * The most of admin.token read: a token is one short line (the server's own are 43 characters), and
 * Node refuses a request's headers over 16 KiB, so a longer one could never be sent anyway.
 */
export const MAX_ADMIN_TOKEN_FILE_BYTES = 16 * 1024;

/**
 * `<runtime-dir>/admin.token`'s text, read before every command (reads too) as the server reads its
 * runtime files (`readRuntimeBytes`: opened without blocking, checked on that descriptor, never
 * read past the limit). A FIFO in its place hung every command for ever, and a link to /dev/zero was
 * read until it took gigabytes. A link to a regular file is followed (a mounted secret is one).
 * A missing file throws ENOENT as fs does; one that is not a small regular file throws saying what it is.
 */
async function readAdminTokenFile(file: string): Promise<string> {
  try {
    return (await readRuntimeBytes(file, { maxBytes: MAX_ADMIN_TOKEN_FILE_BYTES, followLink: true })).bytes.toString('utf8');
  } catch (err) {
    if (!(err instanceof RuntimeFileRefusedError)) throw err;
    if (err.problem === 'not-a-file') throw new Error(`it ${err.detail}, not a file`);
    if (err.problem === 'too-large')
      throw new Error(
        err.size !== undefined
          ? `it is ${err.size} bytes, more than a token can be (at most ${MAX_ADMIN_TOKEN_FILE_BYTES})`
          : `it is more than ${MAX_ADMIN_TOKEN_FILE_BYTES} bytes, more than a token can be`,
      );
    throw err;
  }
}

export interface ClientFlags {
  url?: string;
  token?: string;
  'runtime-dir'?: string;
}

export interface ClientSettings extends ClientOptions {
  /** Where the token came from, for error messages (never the token itself). */
  tokenSource: string;
}

/**
 * A token as an `Authorization` header can carry it: visible ASCII only. One with a line break, a
 * control or a non-ASCII character (two token files pasted together, a secret with a newline) is
 * refused here, as usage, without echoing it: sent, fetch refused it with the whole token in its
 * message, which read as "server unreachable" (exit 5).
 */
function headerSafeToken(token: string, source: string): string {
  const chars = [...token];
  const bad = chars.findIndex((c) => c < '!' || c > '~');
  if (bad >= 0) {
    const code = chars[bad]?.codePointAt(0) ?? 0;
    throw new UsageError(
      `${source} holds a character a token cannot have (U+${code.toString(16).toUpperCase().padStart(4, '0')} at position ${bad + 1} of ${chars.length}): a token is one line of visible ASCII; check where it came from`,
    );
  }
  return token;
}

/**
 * The server on this machine: at the port CONTROL_PLANE_PORT names when it is set here (`docker
 * exec ... stratctl status` in a container started with -e CONTROL_PLANE_PORT), else 8787. A value
 * that is not a port is refused (exit 2, naming the variable), as `serve` refuses it: it fell back to
 * 8787 unsaid, so a typo sent a change, with this machine's admin token, to another server.
 */
function localUrl(port: string | undefined): string {
  if (port === undefined) return DEFAULT_URL;
  const digits = port.trim();
  const n = Number(digits);
  if (!/^\d{1,5}$/.test(digits) || n < 1 || n > 65535) {
    throw new UsageError(
      `CONTROL_PLANE_PORT: "${port}" is not a port (a whole number from 1 to 65535); it names the port of the server on this machine when no --url or CONTROL_PLANE_URL is given`,
    );
  }
  return `http://127.0.0.1:${n}/graphql`;
}

/**
 * DESIGN.md's client settings: `--url`/CONTROL_PLANE_URL; `--token`/CONTROL_PLANE_TOKEN, else
 * `<runtime-dir>/admin.token` (`--runtime-dir`/CONTROL_PLANE_RUNTIME_DIR, ./runtime) when readable.
 * The runtime dir's admin token belongs to the server on this machine: to a URL that is not
 * loopback it is never sent (`withheldToken` says why, once one is needed); a token given with
 * `--token` or CONTROL_PLANE_TOKEN is sent wherever `--url` points, with reads too (`tokenGiven`).
 */
export async function resolveClientSettings(flags: ClientFlags, env: NodeJS.ProcessEnv): Promise<ClientSettings> {
  // An empty (or blank) variable is an unset one, as for the server's settings: `CONTROL_PLANE_URL=`
  // was refused as the URL "", and a blank CONTROL_PLANE_TOKEN was "used" while nothing was sent.
  const setting = (name: string) => envSetting(env, name);
  // None given and the working directory gone: no ./runtime/admin.token to read (reads need none); one given is refused.
  let runtimeDir: string | WorkingDirectoryGoneError;
  try {
    runtimeDir = runtimeDirSetting(flags['runtime-dir'], env);
  } catch (err) {
    if (!(err instanceof WorkingDirectoryGoneError && err.defaulted)) throw err;
    runtimeDir = err;
  }
  const url = flags.url ?? setting('CONTROL_PLANE_URL') ?? localUrl(setting('CONTROL_PLANE_PORT'));
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {}
  const urlSource = flags.url !== undefined ? '--url' : 'CONTROL_PLANE_URL';
  if (parsed === null || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) {
    throw new UsageError(`${urlSource} "${url}" is not an http(s) URL (e.g. ${DEFAULT_URL})`);
  }
  // fetch refuses a URL with credentials, which read as "server unreachable" (exit 5) with the password in the message.
  if (parsed.username !== '' || parsed.password !== '') {
    throw new UsageError(
      `${urlSource} holds a user name or password (user:password@${parsed.host}): credentials in a URL are not sent; give the URL without them (the token goes in --token or CONTROL_PLANE_TOKEN)`,
    );
  }
  if (flags.token !== undefined) {
    if (flags.token.trim() === '') throw new UsageError('--token must not be empty');
    return { url, token: headerSafeToken(flags.token.trim(), '--token'), tokenGiven: true, tokenSource: '--token' };
  }
  const envToken = setting('CONTROL_PLANE_TOKEN');
  if (envToken)
    return { url, token: headerSafeToken(envToken, 'CONTROL_PLANE_TOKEN'), tokenGiven: true, tokenSource: 'CONTROL_PLANE_TOKEN' };
  if (runtimeDir instanceof WorkingDirectoryGoneError) {
    const why = 'the working directory is gone (removed after this shell entered it), so there is no ./runtime/admin.token to read';
    return { url, tokenSource: `none (${why})`, withheldToken: `no token sent: ${why}; pass --token or set CONTROL_PLANE_TOKEN` };
  }
  const file = path.join(runtimeDir, ADMIN_TOKEN_FILE);
  try {
    const token = (await readAdminTokenFile(file)).trim();
    if (token && !isLoopbackUrl(url)) {
      return {
        url,
        tokenSource: `none (${file} is not sent to a non-loopback URL)`,
        withheldToken: `not sending the admin token from ${file} to ${new URL(url).host}, which is not a loopback address; pass --token or set CONTROL_PLANE_TOKEN to send one`,
      };
    }
    if (token) {
      // Checked as --token is: a line break or control character in the file made fetch refuse the
      // header with the whole token in its message, read as "unreachable" (exit 5). Reads need no
      // token, so they still go; what needs one is told why it had none (the token never echoed).
      try {
        const read = async () => {
          const now = (await readAdminTokenFile(file)).trim();
          return now === '' ? undefined : headerSafeToken(now, file);
        };
        return { url, token: headerSafeToken(token, file), tokenSource: file, proveAdminToken: { file, read } };
      } catch (err) {
        return { url, tokenSource: `none (${(err as Error).message})`, withheldToken: `no token sent: ${(err as Error).message}` };
      }
    }
    // There, and read: it holds nothing ("no admin.token" sent a reader looking for a missing file).
    const why = `the token file ${file} is empty`;
    return { url, tokenSource: `none (${why})`, withheldToken: `no token sent: ${why}; pass --token or set CONTROL_PLANE_TOKEN` };
  } catch (err) {
    const code = (err as { code?: string }).code;
    // Used "when readable": a file this user may not read (another user's 0600 token) or a directory
    // in its place must not stop reads, which need no token. One that needs a token is told why it had none.
    if (code !== 'ENOENT' && code !== 'ENOTDIR') {
      const why = `cannot read the token file ${file} (${(err as Error).message})`;
      return {
        url,
        tokenSource: `none (${why})`,
        withheldToken: `no token sent: ${why}; pass --token or set CONTROL_PLANE_TOKEN`,
      };
    }
  }
  return { url, tokenSource: `none (no --token, no CONTROL_PLANE_TOKEN, no ${file})` };
}
