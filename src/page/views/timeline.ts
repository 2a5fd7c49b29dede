import uPlot from 'uplot';
import { LONE_TIME_PAD_S, timeRange } from '../chart-range.js';
import { h, rerender, timeAgo, ZONED } from '../dom.js';
import {
  acceptedWords,
  allows,
  changedLeaves,
  type HistoryEntry,
  operationKind,
  type PageActions,
  rollbackRows,
  type State,
} from '../model.js';
import { currentStateNote } from './activate.js';
import { labelWidthSize, recordValueAxis } from './axis-size.js';
import { chartLegend, hideDrawing, textId } from './chart-text.js';
import {
  buttons,
  closeDialog,
  firstSendWords,
  openDialog,
  sendFromDialog,
  showNotApplied,
  versionBoundNote,
  warnWhenVersionMoves,
} from './dialog.js';

const KINDS = [
  ['activation', 'activation', '#0969da'],
  ['update', 'update', '#8250df'],
  ['rollback', 'rollback', '#bc4c00'],
  ['hand-edit', 'hand edit', '#cf222e'],
  ['other', 'start / recovery', '#6e7781'],
] as const;

/** A timeline of one version (a fresh deployment) spans this much either side of it, in seconds. */
export const SINGLE_VERSION_PAD_S = LONE_TIME_PAD_S;

/**
 * The time axis: the versions' span; one version alone gets an hour either side (uPlot's own range
 * for a single point labelled the axis "Feb 2027 … Aug 2029", the point at its left edge).
 */
export function timelineRange(times: ArrayLike<number>, min: number | null, max: number | null): uPlot.Range.MinMax {
  return timeRange(times, min, max, SINGLE_VERSION_PAD_S);
}

/** Versions the timeline asks for (operations/operatorHistory.graphql's default `last`). */
export const TIMELINE_VERSIONS = 50;

let plot: uPlot | null = null;
let chartBox: HTMLElement | null = null;
/** The chart in words (the figure's description), for a screen reader. */
let chartSummary: HTMLElement | null = null;
let lastKey = '';

/** The timeline in words: how many versions, from when to when, how many of each kind; the list after it has each. */
export function timelineSummary(history: readonly HistoryEntry[]): string {
  if (history.length === 0) return 'No config versions yet.';
  const oldest = history.at(-1)!;
  const newest = history[0]!;
  const when = (e: HistoryEntry) => new Date(e.time).toLocaleString(undefined, ZONED);
  const counted = KINDS.map(
    ([kind, word]) => [word, history.filter((e) => operationKind(e.operation).kind === kind).length] as const,
  ).filter(([, n]) => n > 0);
  const kinds = counted.map(([word, n]) => `${n} ${word}`);
  return history.length === 1
    ? `One version, v${newest.version} (${counted[0]?.[0]}), at ${when(newest)}. It is listed after the chart.`
    : `${history.length} versions, v${oldest.version} at ${when(oldest)} to v${newest.version} at ${when(newest)}: ${kinds.join(', ')}. Each is listed after the chart, newest first.`;
}

/** x: when; y: the version, once per kind of change so each kind has its colour and its word in the legend. */
export function timelineData(history: readonly HistoryEntry[]): uPlot.AlignedData {
  const entries = [...history].reverse();
  const x = entries.map((e) => Date.parse(e.time) / 1000);
  return [
    x,
    entries.map((e) => e.version),
    ...KINDS.map(([kind]) => entries.map((e) => (operationKind(e.operation).kind === kind ? e.version : null))),
  ];
}

function ensureChart(container: HTMLElement): uPlot {
  if (plot && chartBox && container.contains(chartBox)) return plot;
  plot?.destroy();
  const summaryId = textId('timeline-summary');
  chartSummary = h('p', { class: 'visually-hidden', id: summaryId, 'data-testid': 'chart-summary' });
  const legend = chartLegend(
    'Config timeline',
    [
      { series: 1, label: 'version', mark: '—', colour: '#afb8c1' },
      ...KINDS.map(([, word, colour], i) => ({ series: i + 2, label: word, mark: '●', colour })),
    ],
    () => plot,
  );
  chartBox = h(
    'figure',
    { class: 'chart', 'data-testid': 'timeline-chart', 'aria-describedby': summaryId },
    h('figcaption', {}, 'Config version over time, by kind of change'),
    legend,
    chartSummary,
  );
  const box = chartBox;
  container.replaceChildren(box);
  plot = new uPlot(
    {
      width: Math.max(260, container.clientWidth - 8),
      height: 160,
      scales: { x: { time: true, range: (u, min, max) => timelineRange(u.data[0], min, max) } },
      // The x range in force, for a test (the axis itself is drawn on a canvas).
      hooks: {
        setScale: [
          (u, key) => {
            if (key === 'x') box.dataset.xRange = `${u.scales.x?.min ?? ''},${u.scales.x?.max ?? ''}`;
          },
        ],
        draw: [(u) => recordValueAxis(u, box)],
      },
      series: [
        {},
        { label: 'version', stroke: '#afb8c1', width: 1, points: { show: false } },
        ...KINDS.map(
          ([, word, colour]): uPlot.Series => ({
            label: word,
            stroke: colour,
            width: 0,
            paths: () => null,
            points: { show: true, size: 9, stroke: colour, fill: colour },
          }),
        ),
      ],
      // The version axis as wide as its labels: v12020 was drawn "2,020" on a fixed 50 px.
      axes: [{}, { size: labelWidthSize(50) }],
      // The legend is chartLegend's buttons: uPlot's could be clicked only.
      legend: { show: false },
    },
    [[], [], [], [], [], [], []],
    (u, init) => {
      hideDrawing(u.root);
      box.insertBefore(u.root, legend);
      init();
    },
  );
  const chart = plot;
  new ResizeObserver(() => chart.setSize({ width: Math.max(260, box.clientWidth), height: 160 })).observe(container);
  return plot;
}

export function changesText(entry: HistoryEntry): string {
  const parts = entry.changes.flatMap((c) => changedLeaves(c.field, c.before, c.after));
  return parts.length === 0 ? 'no field changed' : parts.join('; ');
}

/** Rollback: what the past version's settings would change, sent with `expectedVersion`. */
export function openRollback(app: PageActions, entry: HistoryEntry): void {
  const status = app.state.status;
  const config = app.state.config;
  if (!status || !config) return;
  // Its "Now" column and expectedVersion both of the config read: the live status's version
  // arrives first, and was sent beside settings of the version before it. A newer one in force is
  // said at once (warnWhenVersionMoves).
  const expectedVersion = config.version;
  const rows = rollbackRows(config, entry.config);
  // Re-applying what is in force writes nothing (the server answers changed: false): said, and not offered.
  const nothing = rows.every((r) => !r.changed);
  // At the version bound no change can be numbered: said, and nothing offered to send (as in Activate).
  const atBound = nothing ? null : versionBoundNote(expectedVersion, 'version-bound-rollback');
  const outcome = h('div', { 'aria-live': 'polite' });
  const moved = h('div', {});
  let stopWatching = () => {};
  // Focus starts on Cancel, as in Activate: Enter twice must not change the live config.
  const cancel = h(
    'button',
    { type: 'button', class: 'secondary', autofocus: true, onclick: () => closeDialog() },
    'Cancel',
  ) as HTMLButtonElement;
  const confirm = h(
    'button',
    {
      type: 'button',
      'data-testid': 'confirm-rollback',
      'data-sends': 'true',
      disabled: nothing || atBound !== null,
      onclick: async () => {
        stopWatching();
        moved.replaceChildren();
        const sending = { confirm, busy: 'Rolling back…', outcome, cancel, what: `The roll back to version ${entry.version}` };
        const { result, open } = await sendFromDialog(app, sending, () => app.rollback(entry.version, expectedVersion));
        if (result.ok) {
          const r = result.data.rollbackConfig;
          if (open) closeDialog();
          app.notify(
            'success',
            acceptedWords(
              `Rolled back to the settings of version ${r.rolledBackTo}`,
              `the settings of version ${r.rolledBackTo} are already in force`,
              { changed: r.changed, version: r.config.version },
            ),
          );
          void app.refresh();
          return;
        }
        await showNotApplied(
          app,
          sending,
          result.errors,
          open,
          expectedVersion,
          () => ({ notes: [currentStateNote(app)] }),
          () => {
            const now = app.state.history?.find((e) => e.version === expectedVersion + 1);
            return now && JSON.stringify(now.config) === JSON.stringify(entry.config)
              ? firstSendWords(app.state, expectedVersion, 'rollbackConfig', [`the settings of version ${entry.version} are in force`])
              : null;
          },
        );
      },
    },
    `Roll back to version ${entry.version}`,
  );
  openDialog(
    `Roll back to version ${entry.version}?`,
    h(
      'p',
      {},
      nothing
        ? `The settings of version ${entry.version} beside those in force:`
        : atBound
          ? `Would re-apply the settings of version ${entry.version} as a new version, but ${expectedVersion} is the last one:`
          : `Re-applies the settings of version ${entry.version} as a new version, ${expectedVersion + 1}:`,
    ),
    h(
      'table',
      { class: 'diff' },
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, ''), h('th', { scope: 'col' }, 'Now'), h('th', { scope: 'col' }, 'After'))),
      h(
        'tbody',
        {},
        ...rows.map(({ label, before, after, changed }) =>
          h(
            'tr',
            { class: changed ? 'changed' : null },
            h('th', { scope: 'row' }, label),
            h('td', { 'data-label': 'Now' }, before),
            h('td', { 'data-label': 'After' }, after),
          ),
        ),
      ),
    ),
    nothing
      ? h(
          'p',
          { class: 'warn-box', 'data-testid': 'rollback-nothing' },
          `Nothing would change: the settings of version ${entry.version} are the ones in force (version ${expectedVersion}).`,
        )
      : (atBound ??
          h('p', { class: 'muted' }, `Sent with expectedVersion ${expectedVersion}: a change made meanwhile is not overwritten.`)),
    moved,
    outcome,
    buttons(confirm, cancel),
  );
  // Its "Now" column goes out of date when someone else changes the config: said at once, as in
  // Activate and Tunables, not only as a refusal once sent. The past version's settings stay what they were.
  stopWatching = warnWhenVersionMoves(app, expectedVersion, moved, () => openRollback(app, entry));
}

/** The timeline of config versions: a chart, then the list (newest first) with a rollback on each past version. */
export function renderTimeline(container: HTMLElement, listBox: HTMLElement, state: State, app: PageActions): void {
  const history = state.history;
  const key = JSON.stringify([history, state.viewer, state.status?.configVersion, state.loadError, state.historyError]);
  if (key === lastKey) return;
  lastKey = key;
  if (!history) {
    const why = state.loadError ?? state.historyError;
    const refused = state.loadError === null && state.historyError !== null;
    rerender(listBox, () => [
      h('p', { class: refused ? 'error-text' : 'muted', 'data-testid': 'history-note' }, why ? `Not loaded: ${why}` : 'Loading…'),
    ]);
    return;
  }
  ensureChart(container).setData(timelineData(history));
  if (chartSummary) chartSummary.textContent = timelineSummary(history);
  const canRollback = allows(state.viewer, 'ADMIN');
  const current = state.status?.configVersion;
  rerender(listBox, () => [
    // A reload that failed after a good load: the list stays, and says it may be behind (it did not).
    state.historyError !== null
      ? h(
          'p',
          { class: 'error-text', 'data-testid': 'history-stale' },
          `Not reloaded: ${state.historyError}; the list below is as of the last load.`,
        )
      : null,
    h(
      'ol',
      { class: 'timeline', reversed: true },
      ...history.map((entry) => {
        const { kind, word } = operationKind(entry.operation);
        return h(
          'li',
          { class: `kind-${kind}`, 'data-version': entry.version },
          h(
            'p',
            {},
            h('strong', {}, `v${entry.version}`),
            ' ',
            h('span', { class: `badge kind-${kind}` }, word),
            ' ',
            timeAgo(entry.time),
            ' by ',
            h('strong', { class: 'actor' }, entry.actor),
            entry.version === current ? [' ', h('span', { class: 'badge ok' }, 'in force')] : null,
          ),
          h('p', { class: 'changes' }, changesText(entry)),
          entry.version === current
            ? null
            : h(
                'button',
                {
                  type: 'button',
                  class: 'secondary',
                  'data-focus': `rollback-${entry.version}`,
                  disabled: !canRollback,
                  title: canRollback ? null : 'Needs a token with scope admin',
                  onclick: () => openRollback(app, entry),
                },
                `Roll back to v${entry.version}…`,
              ),
        );
      }),
    ),
    // The page asks for the last TIMELINE_VERSIONS: say so when there may be older ones (it stopped there without a word).
    history.length >= TIMELINE_VERSIONS && (history.at(-1)?.version ?? 1) > 1
      ? h(
          'p',
          { class: 'muted', 'data-testid': 'older-versions' },
          `The last ${TIMELINE_VERSIONS} versions shown; for older ones (before v${history.at(-1)?.version}): `,
          h('code', {}, 'stratctl history --last 100'),
          ', or the API’s configHistory (up to 1,000 with a token).',
        )
      : null,
  ]);
}
