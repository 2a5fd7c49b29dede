import type { Plugin } from 'graphql-yoga';
import { AuthenticationError, authenticationErrorFor, type Credentials } from '../../auth/identity.js';
import type { Authenticator } from '../../auth/tokens.js';
import { refusalError } from '../errors.js';
import type { RequestScope } from '../request-scope.js';

type Scoped = Partial<Pick<RequestScope, 'authorization'>> & { credentials?: Credentials };

const refused = (reason: 'missing' | 'invalid') => refusalError(new AuthenticationError(reason));

/**
 * The token before anything about the document. GraphQL parses and validates a document before
 * any field runs, so the answer to a document that does not parse or validate was the parser's
 * or the validator's ("Cannot query field "x" on type "Query"") whoever asked:
 * - a wrong token heard what was wrong with its document, not that the token is wrong (the context
 *   factory, which refuses it, runs after validation);
 * - with `--reads-require-token`, a caller with no token could probe the schema through
 *   validation's messages, with introspection off.
 * Now a wrong token is refused (401) before the document is read, on every request yoga handles;
 * and with reads requiring a token, a document from a caller with no token that does not parse or
 * validate is answered 401, not with what is wrong with it. (Only `viewer` and `__typename` are open
 * to such a caller, so a valid document still runs: root-scopes refuses the rest with 401.)
 *
 * The credentials are kept on the request's scope for the context factory, which then does not
 * authenticate again. The fast lane authenticates first itself, and hands a refused token and an
 * invalid document to yoga, so both paths answer alike.
 */
export function tokenFirstPlugin(options: { authenticator: Authenticator; readsRequireToken: boolean }): Plugin {
  return {
    async onParams({ context, setResult }) {
      const scope = context as Scoped;
      scope.credentials ??= await options.authenticator.authenticate(scope.authorization ?? null);
      if (scope.credentials.kind === 'invalid') setResult({ errors: [refusalError(authenticationErrorFor(scope.credentials))] });
    },
    // Here, not in parse or validate hooks: yoga caches their results by document, for every caller.
    onExecutionResult({ context, result, setResult }) {
      if (!options.readsRequireToken || (context as Scoped).credentials?.kind !== 'none') return;
      if (result === undefined || Symbol.asyncIterator in result) return;
      // No data: refused before execution (parse, validation, the document's limits), so about the document.
      if (result.data === undefined && result.errors?.length) setResult({ errors: [refused('missing')] });
    },
  };
}
