import { type ExecutionResult, NoSchemaIntrospectionCustomRule } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

function stripSuggestions(errors: readonly { message: string }[] | undefined): void {
  for (const error of errors ?? []) (error as { message: string }).message = error.message.replace(SUGGESTION, '');
}

const stripFromResult = ({ result }: { result: ExecutionResult }) => stripSuggestions(result.errors);

/**
 * Production mode (`--production`): the schema is not introspectable and error messages carry no
 * "Did you mean ...?" hints, neither from validation (fields, arguments, enum values) nor from
 * execution (variables, coerced at execution). Envelop hooks only, so it holds however the
 * request arrived. GraphiQL is switched off in yoga.ts.
 */
export function productionPlugin(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
      return ({ result }) => stripSuggestions(result);
    },
    onExecute() {
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, stripFromResult) };
    },
    onSubscribe() {
      return { onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, stripFromResult) };
    },
  };
}
