import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import type { Authenticator } from '../../auth/tokens.js';
import { bearerChallenge } from '../errors.js';
import { type Interruptible, interruptible } from './interruptible.js';

/** How often open subscriptions' tokens are checked again: a revoked token's streams end within a second. */
export const TOKEN_RECHECK_MS = 500;

interface TokenContext {
  readonly authorization?: string | null;
  readonly credentials?: { readonly kind: string };
}

/** The error a stream ends with: its token was revoked, rotated, or (with when) expired. */
const revoked = (expiredAt?: string): ExecutionResult => ({
  errors: [
    new GraphQLError('Authentication required', {
      extensions: {
        code: 'UNAUTHENTICATED',
        http: { status: 401, headers: { 'WWW-Authenticate': bearerChallenge('invalid', expiredAt) } },
        ...(expiredAt && { expiredAt }),
      },
    }),
  ],
});

/**
 * Subscriptions opened with a token keep checking it: every `intervalMs` each distinct token of an
 * open stream is authenticated again (the token store sees a revocation at once), and the streams
 * of one that no longer is get an UNAUTHENTICATED error and complete. A stream opened without a
 * token (public reads) has nothing to lose. The timer runs only while there is something to check.
 */
export function tokenRecheckPlugin(options: { authenticator: Authenticator; intervalMs?: number }): Plugin {
  const open = new Map<string, Set<Interruptible<ExecutionResult>>>();
  let timer: NodeJS.Timeout | null = null;
  let checking = false;

  const check = async () => {
    if (checking) return;
    checking = true;
    try {
      for (const [authorization, streams] of [...open]) {
        const credentials = await options.authenticator.authenticate(authorization);
        if (credentials.kind === 'valid') continue;
        const expiredAt = credentials.kind === 'invalid' ? credentials.expiredAt : undefined;
        for (const stream of [...streams]) stream.interrupt(revoked(expiredAt));
      }
    } finally {
      checking = false;
    }
  };
  const ensureTimer = () => {
    if (timer || open.size === 0) return;
    timer = setInterval(() => void check().catch(() => {}), options.intervalMs ?? TOKEN_RECHECK_MS);
    timer.unref();
  };
  const forget = (authorization: string, stream: Interruptible<ExecutionResult>) => {
    const streams = open.get(authorization);
    streams?.delete(stream);
    if (streams?.size === 0) open.delete(authorization);
    if (open.size === 0 && timer) {
      clearInterval(timer);
      timer = null;
    }
  };

  return {
    onSubscribe({ args }) {
      const context = args.contextValue as TokenContext;
      const authorization = context.authorization;
      if (!authorization || context.credentials?.kind !== 'valid') return;
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) return;
          const stream: Interruptible<ExecutionResult> = interruptible(result as AsyncIterable<ExecutionResult>, () =>
            forget(authorization, stream),
          );
          let streams = open.get(authorization);
          if (!streams) {
            streams = new Set();
            open.set(authorization, streams);
          }
          streams.add(stream);
          ensureTimer();
          setResult(stream);
        },
      };
    },
  };
}
