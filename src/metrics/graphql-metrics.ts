import { usePrometheus } from '@graphql-yoga/plugin-prometheus';
import type { Plugin } from 'graphql-yoga';
import type { Registry } from 'prom-client';

/**
 * Yoga's prometheus plugin on this server's registry: operations counted, the whole operation and
 * its parse, validate, context and execute phases as histograms (envelop hooks, so REST calls run in
 * process through `getEnveloped` are measured too), errors by phase, and yoga's HTTP duration (its
 * own HTTP handling only). /metrics is served by the adapter's route table, not by the plugin.
 *
 * Labels: the operation type only. An operation name (and yoga's `url`, which holds a GET's whole
 * query string) is the client's to choose: a label per value would let any client grow this
 * process's memory, one histogram series at a time.
 */
export function graphqlMetricsPlugin(registry: Registry): Plugin {
  return usePrometheus({
    registry,
    endpoint: false,
    metrics: {
      graphql_envelop_request: true,
      graphql_envelop_request_duration: true,
      graphql_envelop_phase_parse: true,
      graphql_envelop_phase_validate: true,
      graphql_envelop_phase_context: true,
      graphql_envelop_phase_execute: true,
      graphql_envelop_phase_subscribe: true,
      graphql_envelop_error_result: true,
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
