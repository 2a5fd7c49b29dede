import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import parsePrometheusTextFormat, { type PrometheusFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { faultyAuditFs } from '../helpers/faulty-audit-fs.js';
import { rawRequest } from '../helpers/raw-http.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';
import { stratctl } from '../helpers/stratctl.js';

/** Every name DESIGN's metrics row promises (yoga's plugin: request, parse, validate, execute). */
const DESIGN_NAMES = [
  'graphql_envelop_request_duration',
  'graphql_envelop_phase_parse',
  'graphql_envelop_phase_validate',
  'graphql_envelop_phase_execute',
  'control_plane_config_version',
  'control_plane_runner_applied_config_version',
  'control_plane_runner_scans_total',
  'control_plane_runner_scan_seconds',
  'control_plane_reload_seconds',
  'control_plane_config_errors_total',
  'control_plane_auth_failures_total',
  'control_plane_signals_total',
];

type Scrape = Map<string, PrometheusFamily> & { text: string };

async function scrape(server: TestServer, token?: string): Promise<Scrape> {
  const res = await fetch(`${server.origin}/metrics`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const families = parsePrometheusTextFormat(text); // throws on a line that is not Prometheus text
  return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
}

/** The one sample of a family whose labels include `labels` (histograms: count and sum as numbers). */
function sample(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string> = {}) {
  const family = families.get(name);
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  return found && { value: Number(found.value), count: Number(found.count), sum: Number(found.sum), labels: found.labels };
}

/**
 * Observations of a histogram over all its label sets: the `<name>_count` samples added up. (The
 * parser folds a labelled histogram's series into one bucket map, so the counts are read per line.)
 */
const histogramCount = (scraped: Scrape, name: string) =>
  scraped.text
    .split('\n')
    .filter((line) => line.startsWith(`${name}_count`))
    .reduce((total, line) => total + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);

describe('GET /metrics', { timeout: 30_000 }, () => {
  it('parses as Prometheus text with every name in DESIGN; reload seconds observed after an activation', async () => {
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    await expect.poll(() => server.services.runners.views()[0]?.state?.scanCount ?? 0).toBeGreaterThanOrEqual(1);
    const before = await scrape(server);
    expect(sample(before, 'control_plane_reload_seconds')?.count ?? 0).toBe(0);

    const activated = await server.gql(
      'mutation { activateStrategy(strategyKey: "gold", waitForRunner: true, timeoutMs: 20000) { configVersion runnerWait { applied } } }',
    );
    expect(activated.body.data?.activateStrategy).toEqual({ configVersion: 2, runnerWait: { applied: true } });
    await expect.poll(() => server.services.runners.views()[0]?.state?.lastSignals.some((s) => s.strategyKey === 'gold')).toBe(true);
    // A wrong token and a broken hand edit, so those counters have something to show.
    expect((await server.gql('{ status { configVersion } }', undefined, 'wrong-token-0123456789abcdef')).status).toBe(401);
    // Written whole (temp + rename): a writeFile in place can be read empty first, a second invalid state.
    const broken = path.join(server.runtimeDir, 'config.yaml.broken');
    await writeFile(broken, 'active_strategy_key: [broken\n');
    await rename(broken, path.join(server.runtimeDir, 'config.yaml'));
    await expect.poll(() => server.services.store.problem()).not.toBeNull();

    const families = await scrape(server);
    const missing = DESIGN_NAMES.filter((name) => !families.has(name));
    expect(missing).toEqual([]);
    const reload = sample(families, 'control_plane_reload_seconds');
    expect(reload?.count).toBe(1);
    expect(reload?.sum).toBeGreaterThanOrEqual(0);
    expect(reload?.sum).toBeLessThan(20);
    expect(sample(families, 'control_plane_config_version')?.value).toBe(2);
    const runnerId = server.services.runners.views()[0]!.state!.id;
    expect(sample(families, 'control_plane_runner_applied_config_version', { runner: runnerId })?.value).toBe(2);
    expect(sample(families, 'control_plane_runner_scans_total', { runner: runnerId })?.value).toBeGreaterThanOrEqual(2);
    // The one runner, by state: the count and the runner named (RUNNING, or ERROR once the broken edit reached it).
    const runnerSeries = families.get('control_plane_runner_state')?.metrics ?? [];
    expect(runnerSeries.map((m) => [m.labels?.runner, m.value])).toEqual([[runnerId, '1']]);
    const runnerHealth = runnerSeries[0]?.labels?.state ?? '';
    expect(['RUNNING', 'ERROR']).toContain(runnerHealth);
    const byState = Object.fromEntries(
      (families.get('control_plane_runners')?.metrics ?? []).map((m) => [m.labels?.state, Number(m.value)]),
    );
    expect(byState).toEqual({ RUNNING: 0, STALE: 0, STOPPED: 0, ERROR: 0, [runnerHealth]: 1 });
    // The embedded runner heartbeats every few seconds: heard within 3 intervals (else it would be STALE).
    const age = Number(sample(families, 'control_plane_runner_heartbeat_age_seconds', { runner: runnerId })?.value);
    expect(age).toBeGreaterThanOrEqual(0);
    expect(age).toBeLessThan(3 * (server.services.runners.views()[0]!.state!.heartbeatIntervalMs / 1000));
    expect(sample(families, 'control_plane_runner_scan_seconds')?.count).toBeGreaterThanOrEqual(2);
    expect(sample(families, 'control_plane_signals_total', { strategy: 'gold' })?.value).toBeGreaterThanOrEqual(1);
    expect(sample(families, 'control_plane_auth_failures_total')?.value).toBe(1);
    expect(sample(families, 'control_plane_config_errors_total')?.value).toBe(1);
    expect(histogramCount(families, 'graphql_envelop_phase_execute')).toBeGreaterThanOrEqual(1);
    expect(families.get('graphql_yoga_http_duration')?.type).toBe('HISTOGRAM');
    expect(families.get('process_resident_memory_bytes')?.type).toBe('GAUGE');
    // Bounded labels: the operation type, never a client-chosen name or URL.
    const requestSeries = families.text.split('\n').filter((l) => l.startsWith('graphql_envelop_request_duration_count'));
    expect(requestSeries.length).toBeGreaterThanOrEqual(1);
    for (const line of requestSeries)
      expect(line).toMatch(/^graphql_envelop_request_duration_count\{operationType="(query|mutation)"\} \d+$/);
    const httpSeries = families.text.split('\n').filter((l) => l.startsWith('graphql_yoga_http_duration_count'));
    for (const line of httpSeries) expect(line).not.toMatch(/url=|operationName=/);
  });

  it('a commit the disk refuses is counted by the step that failed (it was seen only in the answer and the log)', async () => {
    const faults = faultyAuditFs();
    const server = await startTestServer({ runner: false, fs: faults.fs });
    // Every usual step is there at 0 before any failure: rate()/increase() see a series born at 1 as no change,
    // so an alert on the rate missed the first failed write of a spell (and a lone one for ever).
    const before = await scrape(server);
    for (const step of ['open temp file', 'write', 'fsync', 'rename', 'audit append', 'audit fsync'])
      expect(sample(before, 'control_plane_config_write_failures_total', { step })?.value).toBe(0);
    faults.fail('append', 'ENOSPC');
    for (const key of ['gold', 'range']) {
      const refused = await server.gql('mutation($key: String!) { activateStrategy(strategyKey: $key) { configVersion } }', { key });
      expect(refused.status).toBe(503);
    }
    faults.heal();
    expect((await server.gql('mutation { activateStrategy(strategyKey: "gold") { configVersion } }')).status).toBe(200);
    expect(sample(await scrape(server), 'control_plane_config_write_failures_total', { step: 'audit append' })?.value).toBe(2);
  });

  it('a failed field is counted without its path: a client-chosen alias never becomes a label', async () => {
    const server = await startTestServer({ runner: false });
    for (let i = 0; i < 20; i++) {
      const res = await server.gql(`mutation { alias_${i}_x: activateStrategy(strategyKey: "nope") { configVersion } }`);
      expect(res.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    }
    const families = await scrape(server);
    expect(families.text).not.toMatch(/alias_\d+_x/);
    const errorSeries = families.text.split('\n').filter((l) => l.startsWith('graphql_envelop_error_result{'));
    // One series for the 20 errors (its labels are the operation type, the phase, the field and its type).
    expect(errorSeries).toHaveLength(1);
    expect(errorSeries[0]).toMatch(/ 20$/);
  });

  it('every operation the fast lane executes is counted, a document seen before included (its parse and validation cached)', async () => {
    const server = await startTestServer();
    const executed = (families: Scrape, operationType: string) =>
      Number(
        new RegExp(`^graphql_envelop_request_duration_count\\{operationType="${operationType}"\\} (\\d+)$`, 'm').exec(families.text)?.[1] ??
          0,
      );
    const before = await scrape(server);
    // One document, five times, with different variables: one parse and validation, five executions.
    const keys = ['gold', 'range', 'momentum', 'gold', 'range'];
    for (const key of keys) {
      const answer = await server.gql('mutation Activate($k: String!) { activateStrategy(strategyKey: $k) { configVersion } }', { k: key });
      expect(answer.body.errors).toBeUndefined();
      // A read after each change: the answer cache cannot hold it (the config moved), so it is executed too.
      expect((await server.gql('{ status { configVersion } }')).body.data?.status.configVersion).toBeGreaterThan(1);
    }
    const after = await scrape(server);
    expect(executed(after, 'mutation') - executed(before, 'mutation')).toBe(keys.length);
    expect(histogramCount(after, 'graphql_envelop_phase_execute') - histogramCount(before, 'graphql_envelop_phase_execute')).toBe(
      executed(after, 'mutation') - executed(before, 'mutation') + executed(after, 'query') - executed(before, 'query'),
    );
    // Each read after a change is executed (more, if the runner's reports moved the state between them).
    expect(executed(after, 'query') - executed(before, 'query')).toBeGreaterThanOrEqual(keys.length);
  });

  it('a request is counted once, and once again when sent again, the same through the fast lane (POST JSON) as through yoga (GET): a new invalid document, a name that matches no operation, a syntax error', async () => {
    const server = await startTestServer({ runner: false });
    // The GraphQL series (their `_count` for histograms), by their label sets.
    const counts = async () => {
      const series = new Map<string, number>();
      for (const line of (await scrape(server)).text.split('\n'))
        if (/^graphql_envelop_(request\{|phase_\w+_count\{|error_result\{)/.test(line))
          series.set(line.slice(0, line.lastIndexOf(' ')), Number(line.slice(line.lastIndexOf(' ') + 1)));
      return series;
    };
    const delta = async (send: () => Promise<Response>) => {
      const before = await counts();
      const answer = await send();
      await answer.arrayBuffer();
      const after = await counts();
      return Object.fromEntries([...after].filter(([k, v]) => v !== (before.get(k) ?? 0)).map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
    };
    const post = (query: string, operationName?: string) => () =>
      fetch(`${server.origin}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query, operationName }),
      });
    const get = (query: string, operationName?: string) => () =>
      fetch(`${server.origin}/graphql?${new URLSearchParams({ query, ...(operationName && { operationName }) })}`);
    // Each path gets its own document (so each is new to it), alike in everything the labels see.
    const cases: [string, (q: string, o?: string) => () => Promise<Response>, string, string | undefined][] = [
      ['a field the schema lacks', post, '{ nopeA }', undefined],
      ['a field the schema lacks', get, '{ nopeB }', undefined],
      ['an operationName that names no operation', post, 'query A { status { configVersion } }', 'B'],
      ['an operationName that names no operation', get, 'query C { status { configVersion } }', 'D'],
      ['a syntax error', post, '{ status { ', undefined],
      ['a syntax error', get, '{ strategies { ', undefined],
    ];
    const seen: Record<string, Record<string, number>[][]> = {};
    for (const [what, path, query, operationName] of cases) {
      // New, then sent again.
      const deltas = [await delta(path(query, operationName)), await delta(path(query, operationName))];
      seen[what] = [...(seen[what] ?? []), deltas];
    }
    for (const [what, [lane, yoga]] of Object.entries(seen)) {
      expect(lane, what).toEqual(yoga);
      // Sent again, counted again: a document's cached parse or validation is no reason to drop the request
      // (a repeated syntax error counted nothing, yoga's parser cache throwing its kept error before any hook).
      expect(lane?.[1], `${what}, sent again`).toEqual(lane?.[0]);
    }
    expect(seen['a field the schema lacks']?.[0]?.[0]).toEqual({
      'graphql_envelop_phase_parse_count{operationType="query"}': 1,
      'graphql_envelop_phase_validate_count{operationType="query"}': 1,
      'graphql_envelop_error_result{operationType="query",phase="validate"}': 1,
    });
    expect(seen['an operationName that names no operation']?.[0]?.[0]).toEqual({
      'graphql_envelop_phase_parse_count{operationType="query"}': 1,
    });
    // A parse error has no operation type: `unknown` (yoga's own word for it), not the string "undefined".
    expect(seen['a syntax error']?.[0]?.[0]).toEqual({
      'graphql_envelop_phase_parse_count{operationType="unknown"}': 1,
      'graphql_envelop_error_result{operationType="unknown",phase="parse"}': 1,
    });
    expect((await scrape(server)).text).not.toContain('"undefined"');
  });

  it('GraphQL phases are measured for REST calls run in process too (yoga HTTP duration only for yoga)', async () => {
    const server = await startTestServer();
    const before = await scrape(server);
    expect((await fetch(`${server.origin}/api/status`)).status).toBe(200);
    expect((await fetch(`${server.origin}/api/strategies`)).status).toBe(200);
    const after = await scrape(server);
    for (const name of [
      'graphql_envelop_phase_parse',
      'graphql_envelop_phase_validate',
      'graphql_envelop_phase_execute',
      'graphql_envelop_request_duration',
    ]) {
      expect(histogramCount(after, name) - histogramCount(before, name), name).toBe(2);
    }
    expect(histogramCount(after, 'graphql_yoga_http_duration')).toBe(histogramCount(before, 'graphql_yoga_http_duration'));
    expect(sample(after, 'control_plane_http_requests_total', { route: '/api/status', method: 'GET', status: '200' })?.value).toBe(1);
  });

  it('subscriptions open now: 0, then one per open stream, and back down when a client goes away', async () => {
    const server = await startTestServer();
    const open = async () => sample(await scrape(server), 'control_plane_subscriptions')?.value;
    expect(await open()).toBe(0);
    const streams = [new AbortController(), new AbortController()];
    for (const stream of streams) {
      const res = await fetch(server.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify({ query: 'subscription { statusChanged { configVersion } }' }),
        signal: stream.signal,
      });
      expect(res.status).toBe(200);
    }
    await expect.poll(open).toBe(2);
    streams[0]!.abort();
    await expect.poll(open).toBe(1);
    streams[1]!.abort();
    await expect.poll(open).toBe(0);
  });

  it('counts refusals by reason and every request by route (unknown paths under one label)', async () => {
    const server = await startTestServer();
    const badHost = await rawRequest(server.origin, 'GET /health HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n');
    expect(badHost.status).toBe(400);
    for (const p of ['/nope-1', '/nope-2', '/wp-admin']) expect((await fetch(`${server.origin}${p}`)).status).toBe(404);
    const families = await scrape(server);
    expect(sample(families, 'control_plane_http_refusals_total', { reason: 'bad-host', status: '400' })?.value).toBe(1);
    expect(sample(families, 'control_plane_http_refusals_total', { reason: 'not-found', status: '404' })?.value).toBe(3);
    expect(sample(families, 'control_plane_http_requests_total', { route: 'other', method: 'GET', status: '404' })?.value).toBe(3);
    expect((families.get('control_plane_http_requests_total')?.metrics ?? []).map((m) => m.labels?.route)).not.toContain('/wp-admin');
  });

  it('needs a token with scope read when reads need one; a wrong token is refused (and counted) either way', async () => {
    const server = await startTestServer({ readsRequireToken: true });
    const anonymous = await fetch(`${server.origin}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
    expect(await anonymous.json()).toEqual({ errors: [{ message: 'Authentication required', extensions: { code: 'UNAUTHENTICATED' } }] });
    const created = await stratctl(['token', 'create', '--name', 'prometheus', '--scope', 'read'], {
      CONTROL_PLANE_RUNTIME_DIR: server.runtimeDir,
    });
    const readToken = created.stdout.trim();
    await expect
      .poll(async () => (await fetch(`${server.origin}/metrics`, { headers: { authorization: `Bearer ${readToken}` } })).status)
      .toBe(200);
    const wrong = await fetch(`${server.origin}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } });
    expect(wrong.status).toBe(401);
    const families = await scrape(server, readToken);
    expect(sample(families, 'control_plane_auth_failures_total')?.value).toBe(1);

    const open = await startTestServer();
    expect((await fetch(`${open.origin}/metrics`)).status).toBe(200);
    expect((await fetch(`${open.origin}/metrics`, { headers: { authorization: 'Bearer wrong-token-0123456789abcdef' } })).status).toBe(401);
  });

  it('the Grafana dashboard in docs/ queries only metrics the server exports, and every name in DESIGN', async () => {
    const dashboard = JSON.parse(await readFile(path.join(ROOT, 'docs/grafana-dashboard.json'), 'utf8')) as {
      panels: { type: string; targets?: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));
    // What every API replica observes alike (the same runners' scans and signals, the same store):
    // summed over instances, two replicas read twice the truth. Taken once (max) instead.
    const observedByEveryReplica = [
      'control_plane_runner_scans_total',
      'control_plane_signals_total',
      'control_plane_config_errors_total',
      'control_plane_presets_errors_total',
      'control_plane_store_problem',
    ];
    for (const expr of exprs.filter((e) => observedByEveryReplica.some((name) => e.includes(name)))) expect(expr).not.toMatch(/\bsum\b/);
    const used = new Set(exprs.flatMap((e) => e.match(/\b(control_plane|graphql|process|nodejs)_[a-z0-9_]+/g) ?? []));
    const server = await startTestServer({ runner: { heartbeatMs: 200 } });
    await server.gql('{ status { configVersion } }');
    const exported = await scrape(server);
    const family = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
    expect([...used].filter((name) => !exported.has(name) && !exported.has(family(name)))).toEqual([]);
    const usedFamilies = new Set([...used].map(family));
    expect(DESIGN_NAMES.filter((name) => !usedFamilies.has(name) && ![...used].some((u) => u.startsWith(name)))).toEqual([]);
  });
});
