import { type ExecutionResult, GraphQLError, Kind } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { errorAt } from '../errors.js';

/**
 * A variable that does not coerce to its type (missing, a string for an Int, 1.5 or 3000000000 for
 * an Int, an unknown input field or enum value). GraphQL raises these from the variable's
 * definition before anything executes; the executor gives them HTTP 400 but no code.
 */
const isVariableError = (error: GraphQLError): boolean =>
  error.extensions?.code === undefined && error.nodes?.[0]?.kind === Kind.VARIABLE_DEFINITION;

/** The same error with the error table's code and status: what the client sent is wrong, not the server. */
const asBadUserInput = (error: GraphQLError): GraphQLError =>
  errorAt(error, error.message, { ...error.extensions, code: 'BAD_USER_INPUT', http: { status: 400 } }, error.originalError ?? undefined);

const codeVariableErrors = ({ result, setResult }: { result: ExecutionResult; setResult: (r: ExecutionResult) => void }) => {
  if (!result.errors?.some(isVariableError)) return;
  setResult({ ...result, errors: result.errors.map((e) => (isVariableError(e) ? asBadUserInput(e) : e)) });
};

/**
 * Every error carries `extensions.code` (README, Errors): variable errors get `BAD_USER_INPUT` and
 * 400 whatever the client accepts, like any other invalid input (a script with `curl -f` fails on
 * them, and stratctl exits 2). An envelop hook, so yoga's path, the fast lane (whose graphql-jit
 * leaves a variable error to the reference executor) and the REST routes answer alike.
 */
export function variableErrorsPlugin(): Plugin {
  return {
    onExecute() {
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, codeVariableErrors) };
    },
    onSubscribe() {
      return { onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, codeVariableErrors) };
    },
  };
}

/**
 * graphql-js 16's own subscription rule (one root field) collects the root fields with no
 * variables, and throws where `@include(if: $v)` or `@skip` sits on one ("... which was not provided
 * a runtime value", though it was): answered as a validation error (graphql-js 17 reports it as one),
 * not as a result without a code (/graphql's SSE, 200) or a 500 with a stack (/graphql/stream).
 */
export function validationThrowsPlugin(): Plugin {
  return {
    onValidate({ validateFn, setValidationFn }) {
      setValidationFn((...args) => {
        try {
          return validateFn(...args);
        } catch (error) {
          if (!(error instanceof GraphQLError)) throw error;
          return [new GraphQLError(error.message, { nodes: error.nodes, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })];
        }
      });
    },
  };
}
