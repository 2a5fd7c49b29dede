import './styles.css';
import { App } from './app.js';
import { byId, refreshTimes } from './dom.js';
import type { State } from './model.js';
import { token } from './token.js';
import { openActivate } from './views/activate.js';
import { renderGlance } from './views/glance.js';
import { clearNotices, notify, renderHeader, setupHeader } from './views/header.js';
import { renderSignals } from './views/signals.js';
import { renderStrategies } from './views/strategies.js';
import { renderTimeline } from './views/timeline.js';
import { openTunables } from './views/tunables.js';

const glance = byId('glance');
const signals = byId('signals');
const timelineChart = byId('timeline-chart');
const timelineList = byId('timeline-list');
const strategies = byId('strategies');

let scheduled = false;
let latest: State | null = null;

/** Renders at most once per frame, however many updates arrive. */
function render(state: State): void {
  latest = state;
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(() => {
    scheduled = false;
    const s = latest!;
    renderHeader(s, token.get() !== null);
    renderGlance(glance, s);
    // The moment the operator first sees the status (what "time to first render" measures).
    if (s.status && performance.getEntriesByName('first-render').length === 0) performance.mark('first-render');
    renderSignals(signals, s);
    renderTimeline(timelineChart, timelineList, s, app);
    renderStrategies(strategies, s, {
      setFilters: (f) => app.setFilters(f),
      openActivate: (strategy) => openActivate(app, strategy),
      openTunables: (strategy) => openTunables(app, strategy),
    });
  });
}

const app = new App({ render, notify, clearNotices });
setupHeader(app);
app.start();
setInterval(() => refreshTimes(), 1000);
