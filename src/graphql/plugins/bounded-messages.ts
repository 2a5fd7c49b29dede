import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { clippedMessage, MAX_MESSAGE } from '../../registry/index.js';
import { errorAt } from '../errors.js';

const clipped = (error: Error) =>
  error.message.length <= MAX_MESSAGE || !(error instanceof GraphQLError)
    ? error
    : errorAt(error, clippedMessage(error.message), error.extensions, error.originalError ?? undefined);

/**
 * Validation errors cut to MAX_MESSAGE characters: graphql-js quotes a field, argument or type name
 * whole ("Cannot query field "xxx…" on type "Query"."), so a 60 KB name came back in the answer.
 * Errors from execution are cut where they are masked (errors.ts, `maskError`).
 */
export function boundedMessagesPlugin(): Plugin {
  return {
    onValidate() {
      return ({ result, setResult }) => {
        if (result.some((error) => error.message.length > MAX_MESSAGE)) setResult(result.map(clipped));
      };
    },
  };
}
