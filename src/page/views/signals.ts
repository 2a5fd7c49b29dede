import uPlot from 'uplot';
import { priceRange, timeRange } from '../chart-range.js';
import { h, idElement, idText, replace } from '../dom.js';
import { priceTicks, type Signal, type State, utcTick } from '../model.js';
import { seriesShown } from '../signal-series.js';
import { labelWidthSize, recordValueAxis } from './axis-size.js';
import { chartLegend, hideDrawing, textId } from './chart-text.js';

const COLOURS = { LONG: '#1a7f37', SHORT: '#cf222e', FLAT: '#6e7781', price: '#0969da' } as const;
const HEIGHT = 200;

interface Chart {
  readonly figure: HTMLElement;
  readonly plot: uPlot;
  readonly note: HTMLElement;
  /** The chart in words, for a screen reader: a summary (the figure's description) and a table of the newest signals. */
  readonly summary: HTMLElement;
  readonly rows: HTMLTableSectionElement;
  readonly tableCaption: HTMLElement;
  /** The instrument, with the runner when several runners publish it. */
  readonly title: string;
  readonly instrument: string;
  /** The runner whose series this is, when several publish the instrument; null when one does (or none yet). */
  readonly runnerId: string | null;
  lastKey: string;
}

/** Signals listed in a chart's table (its text equivalent), newest first. */
export const SIGNALS_IN_TABLE = 20;

const charts = new Map<string, Chart>();
/** The charts drawn: instruments and the runners each is drawn for (charts are made again when it changes). */
let layoutKey = '';
let resizer: ResizeObserver | null = null;

/** Marker size in CSS pixels. */
const MARKER = 10;

/**
 * Each direction drawn in its own shape, as the legend shows them (▲ LONG, ▼ SHORT, ● FLAT): a
 * colour alone told LONG from SHORT only to those who see red and green apart.
 */
const shaped =
  (shape: 'up' | 'down' | 'circle'): uPlot.Series.Points.PathBuilder =>
  (u, seriesIdx, idx0, idx1) => {
    const path = new Path2D();
    const r = (MARKER / 2) * uPlot.pxRatio;
    const xs = u.data[0];
    const ys = u.data[seriesIdx] as (number | null | undefined)[];
    const scale = u.series[seriesIdx]?.scale ?? 'y';
    for (let i = idx0; i <= idx1; i++) {
      const y = ys[i];
      const x = xs[i];
      if (y == null || x == null) continue;
      const cx = u.valToPos(x, 'x', true);
      const cy = u.valToPos(y, scale, true);
      if (shape === 'circle') {
        path.moveTo(cx + r * 0.8, cy);
        path.arc(cx, cy, r * 0.8, 0, 2 * Math.PI);
        continue;
      }
      const tip = shape === 'up' ? -r : r;
      path.moveTo(cx, cy + tip);
      path.lineTo(cx + r, cy - tip);
      path.lineTo(cx - r, cy - tip);
      path.closePath();
    }
    return { stroke: path, fill: path };
  };

const marker = (direction: 'LONG' | 'SHORT' | 'FLAT', label: string, shape: 'up' | 'down' | 'circle'): uPlot.Series => ({
  label,
  stroke: COLOURS[direction],
  width: 0,
  paths: () => null,
  points: { show: true, size: MARKER, width: 1, stroke: COLOURS[direction], fill: COLOURS[direction], paths: shaped(shape) },
});

/**
 * A chart's axes, made afresh for each chart. One point, or all at one candle or one price (a runner
 * just started or restarted, a fresh activation): an hour either side of it and half a percent of
 * the price either side, as the timeline's lone version (chart-range.ts). uPlot's own ranges drew
 * the point at the left edge of years labelled "07-01 00:00 … 01-01 00:00" with no year, and gold at
 * 2,310 on an axis from 0 to 4,000.
 */
export const signalScales = (): uPlot.Scales => ({
  x: { time: true, range: (u, min, max) => timeRange(u.data[0], min, max) },
  y: { range: (_u, min, max) => priceRange(min, max) },
});

export function chartData(signals: readonly Signal[]): uPlot.AlignedData {
  const points = signals.filter((s) => s.price !== null && s.candleTime !== null);
  const x = points.map((s) => Date.parse(s.candleTime!) / 1000);
  const price = points.map((s) => s.price);
  const only = (d: Signal['direction']) => points.map((s) => (s.direction === d ? s.price : null));
  return [x, price, only('LONG'), only('SHORT'), only('FLAT')];
}

function createChart(instrument: string, runnerId: string | null, width: number): Chart {
  const title = runnerId === null ? instrument : `${instrument} · runner ${idText(runnerId)}`;
  const note = h('p', { class: 'signal-note' });
  const summaryId = textId('signals-summary');
  const summary = h('p', { class: 'visually-hidden', id: summaryId, 'data-testid': 'chart-summary' });
  const tableCaption = h('caption', {});
  const rows = h('tbody', {});
  let made: uPlot | null = null;
  const legend = chartLegend(
    `${title} chart`,
    [
      { series: 1, label: 'Price', mark: '—', colour: COLOURS.price },
      { series: 2, label: 'LONG', mark: '▲', colour: COLOURS.LONG },
      { series: 3, label: 'SHORT', mark: '▼', colour: COLOURS.SHORT },
      { series: 4, label: 'FLAT', mark: '●', colour: COLOURS.FLAT },
    ],
    () => made,
  );
  const figure = h(
    'figure',
    {
      class: 'chart',
      'data-testid': 'signal-chart',
      'data-instrument': instrument,
      ...(runnerId !== null && { 'data-runner-id': runnerId }),
      'data-points': '0',
      'aria-describedby': summaryId,
    },
    h(
      'figcaption',
      {},
      h('strong', {}, instrument),
      // Two runners on one instrument are two feeds: a chart each, named (one line zigzagged between them).
      runnerId === null ? '' : [' · runner ', idElement(runnerId)],
      ' · price at each scan, with the signal marked; candle times in UTC',
    ),
    legend,
    note,
    summary,
    // In a box of its own: a table is as wide as its cells whatever its width says, and widened the page.
    h(
      'div',
      { class: 'visually-hidden' },
      h(
        'table',
        { 'data-testid': 'chart-table' },
        tableCaption,
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', { scope: 'col' }, 'Candle (UTC)'),
            h('th', { scope: 'col' }, 'Signal'),
            h('th', { scope: 'col' }, 'Price'),
            h('th', { scope: 'col' }, 'Reason'),
          ),
        ),
        rows,
      ),
    ),
  );
  const plot = new uPlot(
    {
      width,
      height: HEIGHT,
      scales: signalScales(),
      // Ticks on round UTC times, labelled in UTC, as the caption's candle time is (the browser's zone was 5 h off it in New York).
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      series: [
        {},
        { label: 'Price', stroke: COLOURS.price, width: 1.5, points: { show: false } },
        marker('LONG', 'LONG ▲', 'up'),
        marker('SHORT', 'SHORT ▼', 'down'),
        marker('FLAT', 'FLAT ●', 'circle'),
      ],
      axes: [
        { space: 90, values: (_u, splits) => splits.map((ts, i) => utcTick(ts, i === 0)) },
        // As wide as its labels: 2,310.504 was drawn ",310.504" on a fixed 70 px.
        { size: labelWidthSize(70), values: (_u, splits) => priceTicks(splits) },
      ],
      hooks: { draw: [(u) => recordValueAxis(u, figure)] },
      // The legend is chartLegend's buttons: uPlot's could be clicked only.
      legend: { show: false },
    },
    [[], [], [], [], []],
    (u, init) => {
      hideDrawing(u.root);
      figure.insertBefore(u.root, legend);
      init();
    },
  );
  made = plot;
  return { figure, plot, note, summary, rows, tableCaption, title, instrument, runnerId, lastKey: '' };
}

/** The chart in words: how many scans over which candle times, the price range, and the signals counted by direction. */
export function signalsSummary(instrument: string, strategyKey: string | undefined, signals: readonly Signal[]): string {
  const priced = signals.filter((s) => s.price !== null && s.candleTime !== null);
  if (priced.length === 0) return `${instrument}: no signals of ${strategyKey ?? 'the active strategy'} yet.`;
  const prices = priced.map((s) => s.price as number);
  const count = (d: Signal['direction']) => priced.filter((s) => s.direction === d).length;
  const shown = Math.min(SIGNALS_IN_TABLE, signals.length);
  return (
    `${instrument}, ${strategyKey}: ${priced.length} scan${priced.length === 1 ? '' : 's'} charted, ` +
    `candles ${candleTime(priced[0]!.candleTime!)} to ${candleTime(priced.at(-1)!.candleTime!)}; ` +
    `price from ${Math.min(...prices)} to ${Math.max(...prices)}; ` +
    `${count('LONG')} LONG, ${count('SHORT')} SHORT, ${count('FLAT')} FLAT. ` +
    `The newest ${shown} are in the table that follows.`
  );
}

function describeInWords(chart: Chart, instrument: string, strategyKey: string | undefined, signals: readonly Signal[]): void {
  chart.summary.textContent = signalsSummary(instrument, strategyKey, signals);
  const newest = signals.slice(-SIGNALS_IN_TABLE).reverse();
  chart.tableCaption.textContent = `${instrument}: the newest ${newest.length} signals, newest first`;
  replace(
    chart.rows,
    ...newest.map((s) =>
      h(
        'tr',
        {},
        h('td', {}, s.candleTime ? candleTime(s.candleTime) : '—'),
        h('td', {}, s.direction),
        h('td', {}, s.price === null ? '—' : String(s.price)),
        h('td', {}, s.error ? `${s.reason}; error: ${s.error}` : s.reason),
      ),
    ),
  );
}

function describe(last: Signal | undefined, refused: string | null): (Node | string)[] {
  if (!last && refused)
    return [h('span', { class: 'error-text', 'data-testid': 'signals-refused' }, `Cannot load the signals: ${refused}`)];
  if (!last) return ['No signals yet: the runner reports one per instrument on each scan.'];
  return [
    'Last: ',
    h('span', { class: `badge dir-${last.direction}` }, last.direction),
    last.price !== null ? ` at ${last.price}` : '',
    ` · ${last.reason}`,
    ` · ${last.strategyKey}`,
    last.candleTime ? ` · candle ${candleTime(last.candleTime)}` : '',
    last.error ? ` · error: ${last.error}` : '',
  ];
}

/** Candle times are market times (the simulated feed's run ahead of the clock): shown as they are, in UTC. */
function candleTime(iso: string): string {
  return `${new Date(iso).toISOString().replace('T', ' ').slice(0, 16)} UTC`;
}

/** One price chart per instrument of the active strategy (per runner of it when several publish it), from `signals` and then `signalsEmitted`. */
export function renderSignals(container: HTMLElement, state: State): void {
  const instruments = state.status?.activeStrategy.instruments ?? [];
  const shown = instruments.flatMap((instrument) => seriesShown(state, instrument));
  const chartKey = (s: { instrument: string; runnerId: string | null }) => JSON.stringify([s.instrument, s.runnerId]);
  const key = shown.map(chartKey).join(',');
  if (key !== layoutKey) {
    layoutKey = key;
    for (const chart of charts.values()) chart.plot.destroy();
    charts.clear();
    const width = Math.max(260, container.clientWidth - 8);
    for (const s of shown) charts.set(chartKey(s), createChart(s.instrument, s.runnerId, width));
    replace(container, ...[...charts.values()].map((c) => c.figure));
    resizer?.disconnect();
    resizer = new ResizeObserver(() => {
      for (const chart of charts.values()) chart.plot.setSize({ width: Math.max(260, chart.figure.clientWidth), height: HEIGHT });
    });
    resizer.observe(container);
  }
  // The active strategy's signals only: after a switch the one before's stayed on the chart, read as the new one's.
  const active = state.status?.activeStrategyKey;
  for (const { instrument, runnerId, signals } of shown) {
    const chart = charts.get(chartKey({ instrument, runnerId }))!;
    // The newest arrival: a restarted runner's series starts over (signal-series.ts), so it is the last.
    const last = signals.at(-1);
    const lastKey = `${active}:${signals.length}:${last?.runnerId}:${last?.candleTime}:${last?.price}:${last?.direction}:${state.signalsError}`;
    if (lastKey === chart.lastKey) continue;
    chart.lastKey = lastKey;
    const data = chartData(signals);
    chart.plot.setData(data);
    chart.figure.dataset.points = String(data[0].length);
    replace(chart.note, ...describe(last, state.signalsError));
    describeInWords(chart, chart.title, active, signals);
  }
}
