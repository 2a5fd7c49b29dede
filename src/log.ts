import { fstatSync, readlinkSync, statSync } from 'node:fs';
import { type Logger as PinoLogger, pino } from 'pino';
import { envSetting } from './env-setting.js';
import { flushLogsAtExitWithin } from './log-exit.js';
import { UsageError } from './usage-error.js';

/** The logger every part of the server takes: pino's. Call it as `logger.info(msg)` or `logger.error({ err }, msg)`. */
export type Logger = PinoLogger;

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A warning (or its end, at INFO) handed to whoever logs it: the message, and its facts (file,
 * version, runner id, reason, errno) as fields, so that a JSON log can be filtered on them. A
 * message alone gave JSON mode no fields at all.
 */
export type Say = (message: string, fields?: Record<string, unknown>) => void;

/** `Say` at `level` on `logger`: fields beside the message when there are some. */
export const sayOn =
  (logger: Logger, level: 'info' | 'warn'): Say =>
  (message, fields) =>
    fields ? logger[level](fields, message) : logger[level](message);

/** Where lines go: anything with `write(line)` (stderr by default). */
export interface LogDestination {
  write(line: string): unknown;
}

export interface LoggerOptions {
  /** Default info. */
  level?: LogLevel;
  /** json: one JSON object per line; text: one readable line per event. Default json. */
  format?: LogFormat;
  destination?: LogDestination;
}

/**
 * Never in a log line: bearer tokens, however they are passed along. In pino's redaction paths (the
 * contract; `censorSecrets` implements exactly these, and a test holds it to pino's own redaction).
 */
export const REDACTED_PATHS = [
  'authorization',
  'token',
  'adminToken',
  '*.authorization',
  '*.token',
  '*.adminToken',
  'headers.authorization',
  'req.headers.authorization',
  'request.headers.authorization',
  '*.headers.authorization',
];

export const REDACTED = '[redacted]';
const SECRET_KEYS = ['authorization', 'token', 'adminToken'] as const;
const SECRET = new Set<string>(SECRET_KEYS);
const own = (o: object, key: string) => Object.hasOwn(o, key);
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** `value` with `key` set to the censor: a copy with every own property and the prototype kept (an Error stays one). */
function withCensored(
  value: Record<string, unknown>,
  keys: readonly string[],
  replaced?: Record<string, unknown>,
): Record<string, unknown> {
  const copy = Object.create(Object.getPrototypeOf(value), Object.getOwnPropertyDescriptors(value)) as Record<string, unknown>;
  for (const key of keys) {
    const { enumerable } = Object.getOwnPropertyDescriptor(value, key) ?? { enumerable: true };
    Object.defineProperty(copy, key, { value: replaced?.[key] ?? REDACTED, enumerable, writable: true, configurable: true });
  }
  return copy;
}

/** One level below the line (`*.token`, `*.headers.authorization`): `value` itself when it holds no secret. */
function censorNested(value: Record<string, unknown>): Record<string, unknown> {
  const keys: string[] = SECRET_KEYS.filter((key) => own(value, key));
  const headers = own(value, 'headers') ? value.headers : undefined;
  const replaced: Record<string, unknown> = {};
  if (isObject(headers) && own(headers, 'authorization')) {
    keys.push('headers');
    replaced.headers = withCensored(headers, ['authorization']);
  }
  return keys.length === 0 ? value : withCensored(value, keys, replaced);
}

/**
 * A log line's fields with REDACTED_PATHS censored; the fields themselves (no copy) when none is
 * there, as in nearly every line. pino's own `redact` did the same at ~3x the cost of the whole
 * line: it runs every field of every line through its redaction (a selective clone and the paths
 * walked anew), ~4.5 µs and ~13 KB of garbage per line here, two lines per activation (measured:
 * bench/profile.md, "A fresh server's first seconds, and a warm server's tail").
 */
export function censorSecrets<T extends Record<string, unknown>>(fields: T): T {
  let copy: Record<string, unknown> | null = null;
  for (const key in fields) {
    if (!own(fields, key)) continue;
    const value = fields[key];
    if (value === undefined) continue;
    const censored = SECRET.has(key) ? REDACTED : isObject(value) ? censorNested(value) : value;
    if (censored === value) continue;
    copy ??= { ...fields };
    copy[key] = censored;
  }
  return (copy ?? fields) as T;
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMITTED = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

function textValue(value: unknown): string {
  if (typeof value === 'string') return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value !== null && typeof value === 'object' && typeof (value as { stack?: unknown }).stack === 'string') {
    // An error: its stack says what and where; escaped, so the event stays on one line.
    return JSON.stringify((value as { stack: string }).stack);
  }
  return JSON.stringify(value);
}

/** An error's own fields beyond its stack (a failed write's `step` and `errno`), as `err.step=rename`. */
function errorDetails(key: string, value: unknown): string[] {
  if (value === null || typeof value !== 'object' || typeof (value as { stack?: unknown }).stack !== 'string') return [];
  return Object.entries(value)
    .filter(([field, v]) => !['type', 'message', 'stack', 'cause'].includes(field) && v !== undefined)
    .map(([field, v]) => `${key}.${field}=${textValue(v)}`);
}

/**
 * What a terminal acts on (C0 but tab and newline, DEL, C1 where U+009B is a CSI, bidi overrides).
 * Log lines carry what others wrote: a key of a hand-edited strategies.yaml (or etcd's copy), a
 * runner's id, a request's path; written raw, one rewrote the terminal of the operator reading
 * the log (text is the default on a terminal). Written as `\u001b` instead.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is what it is for
const TERMINAL_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;
const escaped = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
const terminalSafe = (text: string) => text.replace(TERMINAL_CONTROL, escaped);
/** One pino JSON line -> `2026-01-01T10:00:00.000Z INFO  message key=value ...`, still one line, nothing in it a terminal acts on. */
export function formatTextLine(json: string): string {
  return `${terminalSafe(textLine(json).replace(/\n$/, ''))}\n`;
}

const FIELD_LIKE = /(^|\s)[^\s=]*=/;

function textLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json);
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : String(entry.time ?? '');
  const level = (LEVEL_NAMES[entry.level as number] ?? String(entry.level)).padEnd(5);
  const message = String(entry.msg ?? '');
  // Quoted when it holds what reads as a field (`reqId=evil`: a refused key, a path, a client's
  // name): the line's real fields come after it, and a forged one went before them unquoted.
  const msg = FIELD_LIKE.test(message) ? JSON.stringify(message) : message.replaceAll('\n', '\\n');
  const fields = Object.entries(entry)
    .filter(([key]) => !OMITTED.has(key))
    .flatMap(([key, value]) => [`${key}=${textValue(value)}`, ...errorDetails(key, value)]);
  return `${[time, level, msg, ...fields].filter((part) => part !== '').join(' ')}\n`;
}

/** The text format: pino still builds JSON (redaction, serializers), and each line is rewritten before it is written. */
function textDestination(target: LogDestination): LogDestination {
  return { write: (line: string) => target.write(formatTextLine(line)) };
}

/**
 * The json format, with nothing in a line a terminal acts on, and the same JSON once parsed: pino
 * escapes C0 in strings but leaves C1 and bidi raw, which can stand only inside a string, where
 * `\u009b` means the same (raw C0 is never in valid JSON; the line's newline is left alone).
 */
function jsonDestination(target: LogDestination): LogDestination {
  return { write: (line: string) => target.write(terminalSafe(line)) };
}

/**
 * The most a stream a logger writes to (the process's stderr) may hold unwritten before new lines
 * are dropped, in characters (the length Node counts a string by; bytes for the ASCII most lines
 * are). 4 MiB is ~13,000 lines of ~300 characters: a reader that pauses for a few seconds (a log
 * shipper rotating its file, journald's rate limit, `| less` scrolled back for a minute at a few
 * lines a second) loses nothing, and a reader that stopped costs the heap at most this much. Node
 * itself holds whatever a pipe does not take without any bound: on a stalled stderr the process
 * grew until it ran out of memory, and (cli/main.ts) never exited, waiting for the log to go out.
 */
export const LOG_BUFFER_MAX_CHARS = 4 * 1024 * 1024;

/** A Node writable (process.stderr): what the bound reads to know how much is still waiting to go out. */
interface NodeStream {
  write(chunk: string): boolean;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
}

const isNodeStream = (target: LogDestination): target is NodeStream =>
  typeof (target as Partial<NodeStream>).writableLength === 'number' && typeof (target as Partial<NodeStream>).once === 'function';

export interface BoundedDestination extends LogDestination {
  /** Lines dropped since this destination was made. */
  readonly dropped: () => number;
}

/**
 * `stream` with a bound on what it holds unwritten: a line comes when `maxChars` are already
 * waiting is dropped (counted) instead of queued; once the stream has written everything out
 * ('drain'), `onResumed` hears how many were dropped and since when (the epoch ms of the first).
 * Writes are Node's own: for a pipe or socket (journald, a log driver, `| less`), a non-blocking
 * write the event loop finishes when the reader takes it, in order, never a thread blocked in
 * write(2). A stream that writes at once (a file: synchronous) never holds anything, so never drops.
 */
export function boundedDestination(
  stream: NodeStream,
  onResumed: (dropped: number, since: number) => void,
  options: { maxChars?: number; now?: () => number } = {},
): BoundedDestination {
  const maxChars = options.maxChars ?? LOG_BUFFER_MAX_CHARS;
  const now = options.now ?? Date.now;
  let total = 0;
  let unreported = 0;
  let since = 0;
  const resumed = () => {
    const count = unreported;
    unreported = 0;
    onResumed(count, since);
  };
  return {
    dropped: () => total,
    write(line) {
      // At the bound, the stream has answered a write with false (maxChars is above its high-water
      // mark), so it emits 'drain' once it has caught up.
      if (stream.writableLength >= maxChars) {
        if (unreported === 0) {
          since = now();
          stream.once('drain', resumed);
        }
        unreported += 1;
        total += 1;
        return false;
      }
      return stream.write(line);
    },
  };
}

/** What each logger's output (pino's stream, shared with its children) has dropped. */
const drops = new WeakMap<object, BoundedDestination>();

/** Log lines `logger` (or its parent) dropped because its stream was not read; 0 for one with no bound. */
export function droppedLogLines(logger: Logger): number {
  const stream = (logger as unknown as Record<symbol, object>)[pino.symbols.streamSym];
  return (stream && drops.get(stream)?.dropped()) ?? 0;
}

/**
 * The message of the line that ends a spell of dropped lines: how many, since when, and why.
 * (Written once the stream has caught up, at WARN.)
 */
export function droppedLinesMessage(count: number, since: number): string {
  return `${count} log line${count === 1 ? '' : 's'} dropped since ${new Date(since).toISOString()}: stderr was not read (its reader stalled) and ${LOG_BUFFER_MAX_CHARS / 1024 / 1024} MiB of lines were waiting; control_plane_log_lines_dropped_total counts them`;
}

/** A terminal stream's handle (tty.WriteStream's `_handle`, libuv's tty): Node's own switch between blocking and non-blocking writes. */
interface TerminalHandle {
  setBlocking(blocking: boolean): number;
}

const terminalHandle = (stream: object): TerminalHandle | undefined => {
  const { isTTY, fd, _handle: handle } = stream as { isTTY?: unknown; fd?: unknown; _handle?: Partial<TerminalHandle> | null };
  if (isTTY !== true || typeof fd !== 'number' || !libuvReopenedTerminal(fd)) return undefined;
  return typeof handle?.setBlocking === 'function' ? (handle as TerminalHandle) : undefined;
};

/**
 * Whether libuv opened `fd`'s terminal anew for its handle, as uv_tty_init does when the terminal
 * has a name here (ttyname) and is not a pty's master side: a terminal emulator's, ssh's, tmux's,
 * `script`'s. Then the handle's open file is this process's own (the shell's is untouched), and
 * libuv writes it without blocking when told to. Otherwise libuv keeps writing it blocking (its
 * handle says so) and would spin on a full terminal made non-blocking: left as Node has it. The
 * test is ttyname's own (/proc/self/fd names a device whose node is this very file); Linux only.
 */
function libuvReopenedTerminal(fd: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const name = readlinkSync(`/proc/self/fd/${fd}`);
    if (!name.startsWith('/dev/') || name.endsWith('/ptmx')) return false;
    const open = fstatSync(fd);
    const named = statSync(name);
    return open.rdev === named.rdev && open.ino === named.ino && open.dev === named.dev;
  } catch {
    return false;
  }
}

/**
 * A logger writing to a terminal writes to it like to a pipe: without blocking. Node writes to a
 * terminal synchronously (tty.WriteStream sets its handle blocking), so a terminal that stops taking
 * output (paused with Ctrl-S, a `script`/ssh session whose reader stalled) blocked write(2), and
 * with it the event loop: a server run in a terminal answered nothing, not even /health, until the
 * terminal was resumed. Non-blocking, the bytes a terminal does not take wait in the stream, under
 * `boundedDestination`'s bound, and are dropped (counted, then said) past it. A terminal that takes
 * output (the usual case) gets each line at once, as before: libuv writes at once and queues only
 * what the terminal refused. Only a terminal libuv opened anew for its handle (uv_tty_init, see
 * libuvReopenedTerminal): the switch is on this process's own open file, not the shell's. It is
 * switched back at exit, as Node left it.
 */
function writeTerminalWithoutBlocking(stream: object): void {
  const handle = terminalHandle(stream);
  if (!handle || unblockedTerminals.has(handle)) return;
  unblockedTerminals.add(handle);
  handle.setBlocking(false);
  process.once('exit', () => handle.setBlocking(true));
}

const unblockedTerminals = new WeakSet<TerminalHandle>();

/**
 * A logger. The default destination is the process's stderr; a Node stream (stderr, whoever passes
 * it) gets the bound of `boundedDestination`: a reader that stops reading never blocks the event
 * loop nor grows the heap without end, and the lines it missed are counted and then said.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const given = options.destination ?? process.stderr;
  let logger: Logger | undefined;
  const bounded =
    options.level !== 'silent' && isNodeStream(given)
      ? boundedDestination(given, (count, since) =>
          logger?.warn({ droppedLines: count, droppedSince: new Date(since).toISOString() }, droppedLinesMessage(count, since)),
        )
      : undefined;
  const target = bounded ?? given;
  const stream = options.format === 'text' ? textDestination(target) : jsonDestination(target);
  if (bounded) {
    drops.set(stream, bounded);
    flushLogsAtExitWithin(given);
    writeTerminalWithoutBlocking(given);
  }
  logger = pino(
    {
      level: options.level ?? 'info',
      base: undefined, // no pid/hostname on every line: one process per log stream
      timestamp: pino.stdTimeFunctions.epochTime,
      formatters: { log: censorSecrets, bindings: censorSecrets },
    },
    stream,
  );
  return logger;
}

export interface LogFlags {
  'log-format'?: string;
  'log-level'?: string;
}

/** `--log-format`/CONTROL_PLANE_LOG_FORMAT (text on a terminal, json otherwise), `--log-level`/CONTROL_PLANE_LOG_LEVEL (info). */
export function resolveLogSettings(flags: LogFlags, env: NodeJS.ProcessEnv, terminal: boolean): { format: LogFormat; level: LogLevel } {
  const pick = <T extends string>(flag: string, name: string, allowed: readonly T[], fallback: T): T => {
    const fromFlag = flags[flag as keyof LogFlags];
    const raw = fromFlag ?? envSetting(env, name);
    if (raw === undefined) return fallback;
    const value = raw.trim().toLowerCase() as T;
    if (!allowed.includes(value))
      throw new UsageError(`${fromFlag !== undefined ? `--${flag}` : name} must be one of ${allowed.join(', ')}, not "${raw}"`);
    return value;
  };
  return {
    format: pick('log-format', 'CONTROL_PLANE_LOG_FORMAT', LOG_FORMATS, terminal ? 'text' : 'json'),
    level: pick('log-level', 'CONTROL_PLANE_LOG_LEVEL', LOG_LEVELS, 'info'),
  };
}

/**
 * Node's own warnings (a deprecation in a library: grpc-js's DEP0123 for an etcd member named by its
 * IP over TLS) go through the logger, once per kind, instead of Node's plain-text lines on stderr,
 * which broke "every line is JSON" under --log-format json. Only for the process's own stderr (a
 * command run in a test's process leaves that process's warnings alone). Returns the undo.
 */
export function logProcessWarnings(logger: Logger, destination: { write(chunk: string): unknown }): () => void {
  if (destination !== process.stderr) return () => {};
  const printers = process.listeners('warning');
  process.removeAllListeners('warning');
  const said = new Set<string>();
  const onWarning = (warning: Error & { code?: string }) => {
    const kind = `${warning.name}|${warning.code ?? warning.message}`;
    if (said.has(kind)) return;
    said.add(kind);
    logger.warn({ warning: { name: warning.name, ...(warning.code && { code: warning.code }) } }, `node: ${warning.message}`);
  };
  process.on('warning', onWarning);
  return () => {
    process.off('warning', onWarning);
    for (const printer of printers) process.on('warning', printer);
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger = (): Logger => createLogger({ level: 'silent' });

/** Runs `fn` after `ms` (tests: by hand); returns how to cancel it. */
export type Later = (fn: () => void, ms: number) => () => void;

/** `Later` on an unref'd timer: a log line due later (a count at a minute's end) never keeps the process up. */
export const unrefLater: Later = (fn, ms) => {
  const timer = setTimeout(fn, ms);
  timer.unref();
  return () => clearTimeout(timer);
};

/** `the last minute`, `the last 12 s`, `the last 5 minutes`: the window a count covers, said truthfully. */
export function lastPeriod(ms: number): string {
  if (ms < 60_000) return `the last ${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 90_000) return 'the last minute';
  return `the last ${Math.round(ms / 60_000)} minutes`;
}
