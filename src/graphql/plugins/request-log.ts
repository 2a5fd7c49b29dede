import { type ExecutionResult, GraphQLError } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { ConfigWriteError } from '../../config/errors.js';
import { WrittenTextMismatchError } from '../../config/read-back.js';
import { RuntimeFileRefusedError } from '../../fs/runtime-file.js';
import type { Logger } from '../../log.js';
import type { GraphQLContext } from '../context.js';
import { isDocumentedRefusal } from '../errors.js';
import type { RequestScope } from '../request-scope.js';

function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof GraphQLError && current.originalError) current = current.originalError;
  return current;
}

/**
 * Logs each GraphQL error once, on the request's own logger (its lines carry the request id), before
 * masking hides it: a documented refusal (bad key, no token, conflict) as one DEBUG line, a GraphQL
 * error the client caused (validation, variables) not at all, anything else at ERROR with its stack,
 * and a failed disk write through the control plane's writeFailureLog (ERROR with its stack once
 * per spell, then a count at most once a minute). `wasLogged` lets yoga's own logger skip what was logged here.
 */
export function requestLogPlugin(fallback: Logger): { plugin: Plugin; wasLogged(error: unknown): boolean } {
  const logged = new WeakSet<object>();
  const log = (context: unknown, error: unknown) => {
    const cause = rootCause(error);
    if (cause === null || typeof cause !== 'object' || logged.has(cause)) return;
    logged.add(cause);
    const logger = (context as Partial<RequestScope> | undefined)?.log ?? fallback;
    if (cause instanceof ConfigWriteError) {
      // Documented, not masked: the client heard 503 CONFIG_WRITE_FAILED with the step and errno.
      // The file and what is wrong with it, for the operator: a refused runtime file's errno alone
      // (ERUNTIMEFILE) named neither ("audit.log is a symbolic link ...").
      // A text that would not read back as the change: what was meant and what it reads, both.
      const why =
        cause.cause instanceof RuntimeFileRefusedError || cause.cause instanceof WrittenTextMismatchError ? `: ${cause.cause.message}` : '';
      const message = `config could not be written (${cause.step}${cause.errno ? `: ${cause.errno}` : ''}${why}); answered 503 CONFIG_WRITE_FAILED, nothing changed`;
      // Once per spell with its stack, then counted (a client retrying against a full disk made one ERROR line a try).
      const spells = (context as Partial<GraphQLContext> | undefined)?.services?.writeFailureLog;
      if (spells) spells.failed(logger, cause, message);
      else logger.error({ err: cause, step: cause.step, errno: cause.errno }, message);
    } else if (isDocumentedRefusal(error)) {
      logger.debug(`refused: ${(cause as Error).name}: ${(cause as Error).message}`);
    } else if (!(cause instanceof GraphQLError)) {
      // Once per kind with its stack, then counted (a client retrying against a fault made one ERROR line a try).
      const faults = (context as Partial<GraphQLContext> | undefined)?.services?.faultLog;
      if (faults) faults.failed(logger, cause, 'GraphQL operation failed; answered masked');
      else logger.error({ err: cause }, 'GraphQL operation failed; answered masked');
    }
  };
  const logResult =
    (context: unknown) =>
    ({ result }: { result: ExecutionResult }) => {
      for (const error of result.errors ?? []) log(context, error);
    };
  return {
    wasLogged: (error) => {
      const cause = rootCause(error);
      return cause !== null && typeof cause === 'object' && logged.has(cause);
    },
    plugin: {
      onPluginInit({ registerContextErrorHandler }) {
        registerContextErrorHandler(({ context, error }) => log(context, error));
      },
      onExecute({ args }) {
        return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, logResult(args.contextValue)) };
      },
      onSubscribe({ args }) {
        return {
          onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, logResult(args.contextValue)),
          onSubscribeError: ({ error }) => log(args.contextValue, error),
        };
      },
    },
  };
}
