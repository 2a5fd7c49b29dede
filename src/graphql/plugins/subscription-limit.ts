import { type ExecutionResult, GraphQLError } from 'graphql';
import { isAsyncIterable, type Plugin } from 'graphql-yoga';
import { MAX_SUBSCRIPTIONS_PER_CLIENT, TOO_MANY_SUBSCRIPTIONS } from '../../limit-defaults.js';
import { interruptible } from './interruptible.js';
import type { OnDocumentRefusal } from './refusal.js';

interface ClientContext {
  /** Who is asking (the HTTP adapter's client key: the address, or the proxy's forwarded hop). */
  readonly clientKey?: string;
}

/**
 * At most `perClient` open subscriptions per client: one more is refused at once (RATE_LIMITED,
 * 429, Retry-After), before it is set up; a slot frees when a stream ends however it ends. Counted
 * per subscription, so graphql-sse's single connection (many subscriptions on one stream) counts
 * each of them.
 */
export function subscriptionLimitPlugin(options: { perClient?: number; onRefusal?: OnDocumentRefusal } = {}): Plugin {
  const perClient = options.perClient ?? MAX_SUBSCRIPTIONS_PER_CLIENT;
  const open = new Map<string, number>();
  const release = (key: string) => {
    const n = (open.get(key) ?? 1) - 1;
    if (n <= 0) open.delete(key);
    else open.set(key, n);
  };
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const key = (args.contextValue as ClientContext).clientKey;
      if (key === undefined) return;
      if ((open.get(key) ?? 0) >= perClient) {
        options.onRefusal?.('subscriptions-per-client');
        setResultAndStopExecution({
          errors: [
            new GraphQLError(`${TOO_MANY_SUBSCRIPTIONS}: at most ${perClient} per client`, {
              extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'Retry-After': '5' } } },
            }),
          ],
        });
        return;
      }
      open.set(key, (open.get(key) ?? 0) + 1);
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) release(key);
          else setResult(interruptible(result as AsyncIterable<ExecutionResult>, () => release(key)));
        },
        onSubscribeError() {
          release(key);
        },
      };
    },
  };
}
