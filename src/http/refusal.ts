import type { FaultLog } from '../fault-log.js';
import type { Exchange, Reply } from './exchange.js';
import { jsonReply } from './exchange.js';
import { type RefusalLog, refusalLogBudget } from './log.js';

/** Why a request was answered before any route ran its work (also the metrics label). */
export type RefusalReason =
  | 'bad-target'
  | 'bad-host'
  | 'bad-authorization'
  | 'bad-content-type'
  | 'bad-expectation'
  | 'foreign-host'
  | 'rate-limited'
  | 'body-too-large'
  | 'unsupported-encoding'
  | 'bad-body'
  | 'not-found'
  | 'method-not-allowed'
  | 'internal';

export interface Refusal {
  readonly reason: RefusalReason;
  readonly status: number;
  /** GraphQL's `extensions.code`. */
  readonly code: string;
  /** Fixed wording: never a stack, a path or an internal message. */
  readonly message: string;
  readonly headers?: Record<string, string>;
  /** For a failure of the server's own (5xx): the error, logged with its stack and never answered. */
  readonly err?: unknown;
}

/**
 * The seed's REST routes answer errors as `{"detail": ...}`; everything else in GraphQL's error
 * shape. `//api/status` (a script joining `$BASE/` and `/api/status`) is a REST caller too.
 */
export function refusalBody(path: string, refusal: Pick<Refusal, 'code' | 'message'>): unknown {
  return /^\/+api\//.test(path)
    ? { detail: refusal.message }
    : { errors: [{ message: refusal.message, extensions: { code: refusal.code } }] };
}

export interface RefusalOptions {
  /**
   * Logs a client's refusal within a budget a minute (the server's limitCounter's, shared with the
   * other limits); default: a budget of its own (refusalLogBudget, on `now`).
   */
  log?: RefusalLog;
  now?: () => number;
  /** Logs a server fault (5xx) once per kind with its stack, then as a count a minute; default: each at ERROR. */
  faults?: FaultLog;
  /** Told of every refusal (request metrics by reason). */
  onRefusal?: (reason: RefusalReason, status: number) => void;
}

export type Refuse = (exchange: Exchange, refusal: Refusal) => Reply;

/**
 * Answers a refusal (JSON, the path's error shape) and logs it once: a client's mistake at INFO
 * within the budget a minute (DEBUG past it, and counted in the line after), a server fault at ERROR with its stack.
 */
export function refusals(options: RefusalOptions = {}): Refuse {
  const logRefusal = options.log ?? refusalLogBudget({ now: options.now });
  return (exchange, refusal) => {
    // The client too (the address it is counted as), as on the wrong-token lines: who is being refused is the first question.
    const fields = {
      reason: refusal.reason,
      status: refusal.status,
      client: exchange.clientKey,
      method: exchange.method,
      path: exchange.path.slice(0, 200),
    };
    if (refusal.status >= 500) {
      if (options.faults) options.faults.failed(exchange.log, refusal.err, `request failed: ${refusal.message}`, fields);
      else exchange.log.error({ ...fields, err: refusal.err }, `request failed: ${refusal.message}`);
    } else {
      logRefusal(exchange.log, fields, `request refused: ${refusal.message}`);
    }
    options.onRefusal?.(refusal.reason, refusal.status);
    return jsonReply(refusal.status, refusalBody(exchange.path, refusal), refusal.headers);
  };
}
