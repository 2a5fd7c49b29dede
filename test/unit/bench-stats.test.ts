// The pure helpers behind the figures `npm run bench` prints: if these are wrong, every row is.
import { describe, expect, it } from 'vitest';
import { activationOf, keyCycle } from '../../bench/lib/http.js';
import { areaOf, summarizeProfile } from '../../bench/lib/profile.js';
import { allOf, atLeast, atMost, renderMarkdown, renderText } from '../../bench/lib/report.js';
import { formatCount, formatMs, formatRatio, median, medianBy, pairedRatio, percentile, ratio, summarize } from '../../bench/lib/stats.js';

const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

describe('percentile (nearest rank)', () => {
  it('gives the sample at or above the rank, from unsorted input, without reordering it', () => {
    const values = oneTo(100).reverse();
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile(values, 1)).toBe(100);
    expect(percentile([7, 1, 3], 0.5)).toBe(3);
    expect(values[0]).toBe(100);
  });
  it('is the worst sample at p99 when there are fewer than 100', () => {
    expect(percentile([5, 1, 9, 2], 0.99)).toBe(9);
  });
  it('refuses no samples and ranks outside (0, 1]', () => {
    expect(() => percentile([], 0.5)).toThrow(/no samples/);
    expect(() => percentile([1], 0)).toThrow(/rank/);
    expect(() => percentile([1], 1.5)).toThrow(/rank/);
  });
  it('summarize reports n, p50, p99, min and max', () => {
    expect(summarize([3, 1, 2])).toEqual({ n: 3, p50: 2, p99: 3, min: 1, max: 3 });
  });
});

describe('pairedRatio', () => {
  it("is the median of the rounds' own ratios: a slow spell that slows every target in one round moves no ratio", () => {
    // Round 2 ran while the machine was busy: both slowed by 40%. Median round against median round
    // pairs ours' round 2 with the peer's round 2 here (1.24x); each round's own ratio is 1.43x, 1.24x, 1.43x.
    const ours = [33_297, 19_135, 18_744];
    const peer = [23_279, 15_432, 13_139];
    expect(ratio(median(ours), median(peer))).toBeCloseTo(1.24, 2);
    expect(pairedRatio(ours, peer)).toBeCloseTo(1.427, 3);
    expect(pairedRatio([10, 30], [10, 10])).toBe(2);
  });
  it('is null without a complete pair for every round', () => {
    expect(pairedRatio([1, 2], [1])).toBeNull();
    expect(pairedRatio([], [])).toBeNull();
    expect(pairedRatio(undefined, [1])).toBeNull();
    expect(pairedRatio([1, 2], [1, 0])).toBeNull();
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the two middle ones', () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(() => median([])).toThrow(/no samples/);
  });
  it('medianBy keeps the whole median round, so its latencies belong to its req/s', () => {
    const rounds = [
      { rps: 300, p99: 9 },
      { rps: 100, p99: 30 },
      { rps: 200, p99: 20 },
    ];
    expect(medianBy(rounds, (r) => r.rps)).toEqual({ rps: 200, p99: 20 });
    expect(medianBy([{ rps: 2 }, { rps: 1 }], (r) => r.rps)).toEqual({ rps: 1 });
  });
});

describe('ratios and formatting', () => {
  it('divides ours by the peer, and has no ratio without a measured peer', () => {
    expect(ratio(2200, 8800)).toBe(0.25);
    expect(ratio(1, 0)).toBeNull();
    expect(ratio(undefined, 10)).toBeNull();
    expect(ratio(10, Number.NaN)).toBeNull();
  });
  it('prints ratios, counts and milliseconds at a readable precision', () => {
    expect(formatRatio(1.3)).toBe('1.30x');
    expect(formatRatio(0.0764)).toBe('0.076x');
    expect(formatRatio(null)).toBe('n/a');
    expect(formatCount(28123.6)).toBe('28,124');
    expect(formatMs(0.456)).toBe('0.46');
    expect(formatMs(45.66)).toBe('45.7');
    expect(formatMs(2549.4)).toBe('2549');
    expect(formatMs(Number.NaN)).toBe('n/a');
  });
});

describe('verdicts against the targets', () => {
  it('compares against lower and upper bounds, the bound itself included', () => {
    expect(atLeast(1.3, 1.3)).toBe('met');
    expect(atLeast(1.29, 1.3)).toBe('NOT met');
    expect(atMost(50, 50)).toBe('met');
    expect(atMost(50.1, 50)).toBe('NOT met');
    expect(atMost(null, 5)).toBe('failed');
    expect(atLeast(Number.NaN, 5)).toBe('failed');
  });
  it('is met only when every condition of a row is', () => {
    expect(allOf('met', 'met')).toBe('met');
    expect(allOf('met', 'NOT met')).toBe('NOT met');
    expect(allOf('NOT met', 'failed')).toBe('failed');
  });
});

describe('tables', () => {
  it('pads text columns to the widest cell', () => {
    const text = renderText(
      ['figure', 'value'],
      [
        ['reads', '12,000'],
        ['writes at 32', '9'],
      ],
    );
    expect(text).toBe('figure        value\n------------  ------\nreads         12,000\nwrites at 32  9\n');
  });
  it('writes Markdown rows with pipes escaped and missing cells empty', () => {
    const md = renderMarkdown(['a', 'b', 'c'], [['x|y', '1']]);
    expect(md).toBe('| a | b | c |\n| --- | --- | --- |\n| x\\|y | 1 |  |\n');
  });
});

describe('activation answers', () => {
  const answer = (status: number, body: unknown) => ({ status, body, text: JSON.stringify(body), ms: 1 });
  it('takes the version of an accepted activation and tells a no-op apart', () => {
    const ok = answer(200, { data: { activateStrategy: { activeStrategyKey: 'gold', previousStrategyKey: 'range', configVersion: 7 } } });
    expect(activationOf(ok)).toEqual({ ok: true, version: 7, noOp: false });
    const same = answer(200, { data: { activateStrategy: { activeStrategyKey: 'gold', previousStrategyKey: 'gold', configVersion: 7 } } });
    expect(activationOf(same)).toMatchObject({ ok: true, noOp: true });
    expect(activationOf(answer(200, { data: { activateStrategy: { configVersion: 8, changed: false } } }))).toMatchObject({ noOp: true });
  });
  it('refuses an error answer, naming its status', () => {
    const refused = activationOf(answer(401, { data: null, errors: [{ message: 'Authentication required' }] }));
    expect(refused).toMatchObject({ ok: false });
    expect(refused.ok === false && refused.reason).toMatch(/^HTTP 401: .*Authentication required/);
  });
  it('cycles strategy keys so that consecutive activations never name the same one', () => {
    const next = keyCycle();
    const keys = Array.from({ length: 12 }, next);
    for (let i = 1; i < keys.length; i++) expect(keys[i]).not.toBe(keys[i - 1]);
    expect(new Set(keys).size).toBe(5);
  });
});

describe('cpu profile summary', () => {
  const frame = (functionName: string, url: string, lineNumber = 0) => ({ functionName, url, lineNumber });
  const profile = {
    startTime: 1_000_000,
    endTime: 1_010_000, // 10 ms later, in microseconds
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('execute', 'file:///app/node_modules/graphql/execution/execute.js', 9) },
      { id: 3, callFrame: frame('authScopes', 'file:///app/node_modules/@pothos/plugin-scope-auth/esm/index.js') },
      { id: 4, callFrame: frame('handle', 'file:///app/src/http/fast-lane.ts', 41) },
      { id: 5, callFrame: frame('(garbage collector)', '') },
      { id: 6, callFrame: frame('execute', 'file:///app/node_modules/graphql/execution/execute.js', 9) },
      { id: 7, callFrame: frame('(idle)', '') },
    ],
    // one sample per millisecond, at 1 ms .. 10 ms after the start
    samples: [2, 2, 2, 6, 3, 3, 4, 5, 5, 7],
    timeDeltas: Array.from({ length: 10 }, () => 1000),
  };
  it('adds up self time per function and per area, shares of the busy samples', () => {
    const s = summarizeProfile(profile);
    expect(s).toMatchObject({ spanMs: 10, idleMs: 1, busyMs: 9 });
    expect(s.byFunction[0]).toEqual({ name: 'execute graphql/execution/execute.js:10', ms: 4, pct: (100 * 4) / 9 });
    expect(s.byArea.map((a) => [a.name, a.ms])).toEqual([
      ['graphql', 4],
      ['@pothos/plugin-scope-auth', 2],
      ['(garbage collector)', 2],
      ['src/http/', 1],
    ]);
  });
  it('counts only the samples inside a window, so start-up stays out of a profile of the load', () => {
    const s = summarizeProfile(profile, 25, { from: 1_004_500, to: 1_009_000 }); // samples at 5..9 ms
    expect(s.spanMs).toBe(4.5);
    expect(s.byArea.map((a) => a.name)).toEqual(['@pothos/plugin-scope-auth', '(garbage collector)', 'src/http/']);
    expect(s.byFunction.find((f) => f.name.startsWith('execute'))).toBeUndefined();
  });
  it('names the area of a frame: package, src folder, node core module family, or a V8 pseudo-frame', () => {
    expect(areaOf('file:///w/node_modules/a/node_modules/@envelop/core/cjs/x.js', 'f')).toBe('@envelop/core');
    expect(areaOf('node:internal/streams/readable', 'f')).toBe('node:internal/streams');
    expect(areaOf('node:internal/abort_controller', 'f')).toBe('node:internal/abort_controller');
    expect(areaOf('node:events', 'f')).toBe('node:events');
    expect(areaOf('file:///w/src/graphql/schema/strategy.ts', 'f')).toBe('src/graphql/');
    expect(areaOf('file:///w/dist/server.js', 'f')).toBe('dist/ (top level)');
    expect(areaOf('', '(program)')).toBe('(program)');
  });
});
