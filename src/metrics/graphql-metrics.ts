import { createCounter, createHistogram, type FillLabelsFnParams, usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';
import type { RequestScope } from '../graphql/request-scope.js';

/**
 * A parse error has no operation: the plugin's own label function gave it the literal string
 * "undefined". `unknown`, as the plugin's `graphql_yoga_http_duration` says in that case.
 */
const operationTypeOf = (params: FillLabelsFnParams) => params.operationType ?? 'unknown';

/**
 * The fast lane parsed and validated this request's document (its hooks counted both) before it
 * handed the request to yoga, which runs them again: not counted twice (RequestScope.documentCounted).
 */
const countedBefore = (context: unknown) => (context as Partial<RequestScope> | undefined)?.documentCounted === true;

type ErrorPhase = 'parse' | 'validate' | 'context' | 'execute' | 'subscribe';

const phaseHistogram = <P extends 'parse' | 'validate'>(registry: Registry, phase: P, help: string) =>
  createHistogram<P, 'operationType'>({
    registry,
    histogram: { name: `graphql_envelop_phase_${phase}`, help, labelNames: ['operationType'] },
    fillLabelsFn: (params) => ({ operationType: operationTypeOf(params) }),
    phases: [phase],
    shouldObserve: (_params, context) => !countedBefore(context),
  });

/**
 * Yoga's prometheus plugin on this server's registry: operations counted, the whole operation and
 * its parse, validate, context and execute phases as histograms (envelop hooks, so REST calls run in
 * process through `getEnveloped` are measured too), errors by phase, and yoga's HTTP duration (its
 * own HTTP handling only). /metrics is served by the adapter's route table, not by the plugin.
 *
 * Labels: the operation type only. An operation name (and yoga's `url`, which holds a GET's whole
 * query string) is the client's to choose: a label per value would let any client grow this
 * process's memory, one histogram series at a time.
 *
 * Parse, validate and errors are the plugin's metrics under their own names, made here (its
 * documented custom-metric option) for two things its defaults cannot say: a request counted once
 * when the fast lane hands yoga a document it checked, and a parse error's operation type.
 */
export function graphqlMetricsPlugin(registry: Registry): Plugin {
  const parse = phaseHistogram(registry, 'parse', 'Time spent on running GraphQL "parse" function');
  const validate = phaseHistogram(registry, 'validate', 'Time spent on running GraphQL "validate" function');
  const errors = createCounter<ErrorPhase, 'operationType' | 'phase', FillLabelsFnParams & { error: unknown; errorPhase: ErrorPhase }>({
    registry,
    counter: {
      name: 'graphql_envelop_error_result',
      help: 'Counts the amount of errors reported from all phases',
      labelNames: ['operationType', 'phase'],
    },
    fillLabelsFn: (params) => ({
      operationType: operationTypeOf(params),
      // Its types say always set, but the plugin's subscribe-error path passes none (it was "undefined").
      phase: (params.errorPhase as ErrorPhase | undefined) ?? 'subscribe',
    }),
    phases: ['parse', 'validate', 'context', 'execute', 'subscribe'],
    shouldObserve: (params, context) => !((params.errorPhase === 'parse' || params.errorPhase === 'validate') && countedBefore(context)),
  });
  return usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_phase_parse: parse,
      graphql_envelop_phase_validate: validate,
      graphql_envelop_phase_context: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: errors,
      graphql_yoga_http_duration: true,
      // A summary costs per observation and per scrape; the histogram above answers the same question.
      graphql_envelop_request_time_summary: false,
      // The schema is static and deprecates nothing: these would only cost a visit per document.
      graphql_envelop_deprecated_field: false,
      graphql_envelop_schema_change: false,
      graphql_envelop_execute_resolver: false,
    },
    // A failed field's path is its response key: an alias the client chose (one series per alias, never freed).
    labels: { operationName: false, url: false, path: false },
  });
}
