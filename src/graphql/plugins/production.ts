import { NoSchemaIntrospectionCustomRule } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const SUGGESTION = /\s*Did you mean [^?]*\?/g;

/**
 * Production mode (`--production`): the schema is not introspectable and error messages carry no
 * "Did you mean ...?" hints (Armor strips the field ones at validation; this also catches enum and
 * variable ones, which graphql-js adds at execution). GraphiQL is switched off in yoga.ts.
 */
export function productionPlugin(): Plugin {
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(NoSchemaIntrospectionCustomRule);
    },
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        if (!single || Symbol.asyncIterator in single) continue;
        for (const error of single.errors ?? []) {
          (error as { message: string }).message = error.message.replace(SUGGESTION, '');
        }
      }
    },
  };
}
