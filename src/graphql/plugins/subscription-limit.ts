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
 * What each client holds of the per-client subscription budget: its open subscriptions, and its
 * graphql-sse stream reservations not yet connected (sse.ts), which cost the server memory too.
 */
export class ClientSlots {
  private readonly held = new Map<string, number>();

  constructor(readonly perClient: number = MAX_SUBSCRIPTIONS_PER_CLIENT) {}

  /** One more for `key`, unless it already holds `perClient`. */
  take(key: string): boolean {
    const n = this.held.get(key) ?? 0;
    if (n >= this.perClient) return false;
    this.held.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = (this.held.get(key) ?? 1) - 1;
    if (n <= 0) this.held.delete(key);
    else this.held.set(key, n);
  }

  /** What the client is told when it holds its whole budget. */
  refusal(): GraphQLError {
    return new GraphQLError(`${TOO_MANY_SUBSCRIPTIONS}: at most ${this.perClient} per client`, {
      extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: { 'Retry-After': '5' } } },
    });
  }
}

/**
 * At most `perClient` open subscriptions per client: one more is refused at once (RATE_LIMITED,
 * 429, Retry-After), before it is set up; a slot frees when a stream ends however it ends. Counted
 * per subscription, so graphql-sse's single connection (many subscriptions on one stream) counts
 * each of them. `slots` is shared with the single-connection endpoint's reservations.
 */
export function subscriptionLimitPlugin(options: { slots?: ClientSlots; onRefusal?: OnDocumentRefusal } = {}): Plugin {
  const slots = options.slots ?? new ClientSlots();
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const key = (args.contextValue as ClientContext).clientKey;
      if (key === undefined) return;
      if (!slots.take(key)) {
        options.onRefusal?.('subscriptions-per-client');
        setResultAndStopExecution({ errors: [slots.refusal()] });
        return;
      }
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) slots.release(key);
          else setResult(interruptible(result as AsyncIterable<ExecutionResult>, () => slots.release(key)));
        },
        onSubscribeError() {
          slots.release(key);
        },
      };
    },
  };
}
