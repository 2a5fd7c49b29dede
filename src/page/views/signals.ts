import uPlot from 'uplot';
import { h, replace } from '../dom.js';
import type { Signal, State } from '../model.js';

const COLOURS = { LONG: '#1a7f37', SHORT: '#cf222e', FLAT: '#6e7781', price: '#0969da' } as const;
const HEIGHT = 200;

interface Chart {
  readonly figure: HTMLElement;
  readonly plot: uPlot;
  readonly note: HTMLElement;
  lastKey: string;
}

const charts = new Map<string, Chart>();
let instrumentsKey = '';
let resizer: ResizeObserver | null = null;

const marker = (direction: keyof typeof COLOURS, label: string): uPlot.Series => ({
  label,
  stroke: COLOURS[direction],
  width: 0,
  paths: () => null,
  points: { show: true, size: 9, width: 1, stroke: COLOURS[direction], fill: COLOURS[direction] },
});

/** x: candle times (s); the price line; then the price again where the signal was LONG / SHORT / FLAT (null elsewhere). */
export function chartData(signals: readonly Signal[]): uPlot.AlignedData {
  const points = signals.filter((s) => s.price !== null && s.candleTime !== null);
  const x = points.map((s) => Date.parse(s.candleTime!) / 1000);
  const price = points.map((s) => s.price);
  const only = (d: Signal['direction']) => points.map((s) => (s.direction === d ? s.price : null));
  return [x, price, only('LONG'), only('SHORT'), only('FLAT')];
}

function createChart(instrument: string, width: number): Chart {
  const note = h('p', { class: 'signal-note' });
  const figure = h(
    'figure',
    { class: 'chart', 'data-testid': 'signal-chart', 'data-instrument': instrument, 'data-points': '0' },
    h('figcaption', {}, h('strong', {}, instrument), ' · price at each scan, with the signal marked'),
    note,
  );
  const plot = new uPlot(
    {
      width,
      height: HEIGHT,
      scales: { x: { time: true } },
      series: [
        {},
        { label: 'Price', stroke: COLOURS.price, width: 1.5, points: { show: false } },
        marker('LONG', 'LONG ▲'),
        marker('SHORT', 'SHORT ▼'),
        marker('FLAT', 'FLAT ●'),
      ],
      axes: [{}, { size: 70 }],
      legend: { live: false },
    },
    [[], [], [], [], []],
    (u, init) => {
      figure.insertBefore(u.root, note);
      init();
    },
  );
  return { figure, plot, note, lastKey: '' };
}

function describe(last: Signal | undefined): (Node | string)[] {
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

/** One price chart per instrument of the active strategy, from `signals` and then `signalsEmitted`. */
export function renderSignals(container: HTMLElement, state: State): void {
  const instruments = state.status?.activeStrategy.instruments ?? [];
  const key = instruments.join(',');
  if (key !== instrumentsKey) {
    instrumentsKey = key;
    for (const chart of charts.values()) chart.plot.destroy();
    charts.clear();
    const width = Math.max(260, container.clientWidth - 8);
    for (const instrument of instruments) charts.set(instrument, createChart(instrument, width));
    replace(container, ...[...charts.values()].map((c) => c.figure));
    resizer?.disconnect();
    resizer = new ResizeObserver(() => {
      for (const chart of charts.values()) chart.plot.setSize({ width: Math.max(260, chart.figure.clientWidth), height: HEIGHT });
    });
    resizer.observe(container);
  }
  for (const [instrument, chart] of charts) {
    const signals = state.signals.get(instrument) ?? [];
    const last = signals.at(-1);
    const lastKey = `${signals.length}:${last?.candleTime}:${last?.price}:${last?.direction}`;
    if (lastKey === chart.lastKey) continue;
    chart.lastKey = lastKey;
    const data = chartData(signals);
    chart.plot.setData(data);
    chart.figure.dataset.points = String(data[0].length);
    replace(chart.note, ...describe(last));
  }
}
