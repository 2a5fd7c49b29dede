import { type ExecutionResult, GraphQLError, getOperationAST } from 'graphql';
import { handleStreamOrSingleExecutionResult, type Plugin } from 'graphql-yoga';
import { MAX_RESPONSE_BYTES } from '../../limit-defaults.js';
import type { OnDocumentRefusal } from './refusal.js';

export const RESPONSE_TOO_LARGE = 'Response too large';

function tooLarge(maxBytes: number): ExecutionResult {
  return {
    errors: [
      new GraphQLError(RESPONSE_TOO_LARGE, { extensions: { code: 'BAD_USER_INPUT', http: { status: 400 }, maxResponseBytes: maxBytes } }),
    ],
  };
}

/**
 * A result that carries its own JSON text. yoga's result processors send `result.stringify(result)`
 * when a result has one (graphql-jit's compiled serialisers use the same hook), so an answer that
 * has been measured is not serialised a second time. The text is given only for this very object:
 * a copy (another plugin's `setResult`, or yoga leaving out error internals) is serialised afresh.
 */
type WithText = ExecutionResult & { stringify?: (result: ExecutionResult) => string };

function carrying(result: ExecutionResult, text: string): WithText {
  const withText: WithText = { ...result, stringify: (r) => (r === withText ? text : JSON.stringify(r)) };
  return withText;
}

/**
 * Refuses a query result or a subscription event over `maxBytes` before it is sent: the client gets
 * `Response too large` (BAD_USER_INPUT, 400) instead of the data. A mutation's answer is never
 * refused: it is bounded by the document's cost, and what it changed is already committed.
 */
export function responseSizePlugin(options: { maxBytes?: number; onRefusal?: OnDocumentRefusal } = {}): Plugin {
  const maxBytes = options.maxBytes ?? MAX_RESPONSE_BYTES;
  const cap = ({ result, setResult }: { result: ExecutionResult; setResult: (r: ExecutionResult) => void }) => {
    // The result as it will be sent, in bytes (what the client would receive before compression).
    const text = JSON.stringify(result);
    if (Buffer.byteLength(text) <= maxBytes) {
      // With errors, yoga sends a copy without their internals: nothing to keep.
      if (!result.errors?.length) setResult(carrying(result, text));
      return;
    }
    options.onRefusal?.('response-too-large');
    setResult(tooLarge(maxBytes));
  };
  return {
    onExecute({ args }) {
      if (getOperationAST(args.document, args.operationName ?? undefined)?.operation === 'mutation') return;
      return { onExecuteDone: (payload) => handleStreamOrSingleExecutionResult(payload, cap) };
    },
    onSubscribe() {
      return { onSubscribeResult: (payload) => handleStreamOrSingleExecutionResult(payload, cap) };
    },
  };
}
