import { h, idElement, idText, rerender, timeAgo, ZONED } from '../dom.js';
import { byRunnerId, type HistoryEntry, liveRunners, operationKind, RISK_WORDS, type Runner, SESSION_WORDS, type State } from '../model.js';

const STATE_WORDS: Record<Runner['state'], string> = {
  RUNNING: 'scanning on schedule',
  STALE: 'no heartbeat: dead or stuck',
  STOPPED: 'not running',
  ERROR: 'running, but cannot do what the config asks',
};

/**
 * How much the page knows of the runners now. `liveOff`: the live updates are off (the server away
 * or silent, or needing a token the page has not): what a card says is the last the page heard.
 * `storeDown`: the server is live but cannot reach its config store, where the runners publish
 * their heartbeats: their states are unknown, not dead (an outage of etcd showed every runner
 * STALE, "no heartbeat: dead or stuck").
 */
type Heard = 'now' | 'liveOff' | 'storeDown' | 'storeBack';

/**
 * `storeBack`: the store is reachable again, and a runner the server calls STALE has not had its
 * staleAfterMs since: its heartbeats could not be read (nor, on etcd, published) during the outage,
 * and it was shown STALE "dead or stuck" until its next one was read.
 */
function heardOf(runner: Runner, state: State): Heard {
  // Needs a token: a server restarted with reads needing one hears nothing more for this page (its
  // queries' 401s then take the status away; until they are answered, it is the last heard).
  if (state.live.kind === 'down' || state.live.kind === 'needsToken') return 'liveOff';
  if (state.status && !state.status.store.connected) return 'storeDown';
  const back = state.storeBackAt;
  if (runner.state === 'STALE' && back !== null && Date.now() - back < (runner.staleAfterMs ?? 0)) return 'storeBack';
  return 'now';
}

const unknown = (heard: Heard) => heard === 'storeDown' || heard === 'storeBack';

const clock = (iso: string | null) => (iso ? new Date(iso).toLocaleTimeString(undefined, ZONED) : 'never');

/** A runner's state in words, as far as the page knows it. */
function stateWords(runner: Runner, heard: Heard): string {
  if (heard === 'storeDown') return `unknown (store unreachable), last heard ${clock(runner.heartbeatAt)}`;
  if (heard === 'storeBack') return `unknown (store reachable again, no heartbeat read yet), last heard ${clock(runner.heartbeatAt)}`;
  if (heard === 'liveOff') return `last heard: ${STATE_WORDS[runner.state]}; live updates are off, so this may have changed`;
  return STATE_WORDS[runner.state];
}

/** A runner's state badge: neutral when not heard now; UNKNOWN while the store is unreachable. */
function stateBadge(runner: Runner, heard: Heard): HTMLElement {
  if (unknown(heard)) return h('span', { class: 'badge state neutral' }, 'UNKNOWN');
  return h('span', { class: `badge state ${heard === 'liveOff' ? 'neutral' : `state-${runner.state}`}` }, runner.state);
}

/**
 * Whether a runner runs the version in force. In sync is good news only from a runner that runs: a
 * dead or stopped one applied it once, and scans nothing now (a green tick beside STALE read as all well).
 */
function syncBadge(runner: Runner, configVersion: number, unheard: boolean): HTMLElement {
  const alive = runner.state === 'RUNNING' || runner.state === 'ERROR';
  if (!runner.inSync) return h('span', { class: 'badge warn' }, `✗ not in sync (wants v${configVersion})`);
  if (alive && !unheard) return h('span', { class: 'badge ok' }, '✓ in sync');
  return h('span', { class: 'badge neutral', 'data-testid': 'runner-last-applied' }, `last applied v${runner.appliedConfigVersion}`);
}

/**
 * Not heard now (`heard`): what the card says is the last the page heard, not the state now, so it
 * loses its colours and says so (a green "scanning on schedule" beside a last scan a minute old, on
 * a 2 s schedule, read as all well).
 */
function runnerItem(runner: Runner, configVersion: number, summary: boolean, heard: Heard): HTMLElement {
  const unheard = heard !== 'now';
  const sync = syncBadge(runner, configVersion, unheard);
  return h(
    'li',
    {
      class: `runner state-${runner.state}${unheard ? ' unheard' : ''}`,
      'data-testid': 'runner-state',
      'data-runner-id': runner.id ?? '',
    },
    h('p', {}, stateBadge(runner, heard), ' ', stateWords(runner, heard), summary ? null : ' ', summary ? null : sync),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Runner'),
      h(
        'dd',
        {},
        summary ? 'none has reported yet' : [runner.id ? idElement(runner.id) : 'unknown', runner.pid ? ` (pid ${runner.pid})` : ''],
      ),
      h('dt', {}, 'Applied'),
      h(
        'dd',
        {},
        runner.appliedConfigVersion === null
          ? 'nothing yet'
          : `version ${runner.appliedConfigVersion} · ${runner.appliedStrategyKey ?? '?'}`,
      ),
      h('dt', {}, 'Last scan'),
      h('dd', {}, timeAgo(runner.lastScanAt)),
    ),
    runner.error ? h('p', { class: 'error-text', role: 'note' }, h('strong', {}, 'Error: '), runner.error) : null,
  );
}

/**
 * A runner of a fleet, as a tile of three short lines (state and id; in sync; applied version,
 * strategy and last scan): a fleet of 12 as runnerItem's cards was one column 1,300 px tall that
 * stretched the cards beside it. What a tile leaves out of runnerItem's words is in its title.
 */
function runnerTile(runner: Runner, configVersion: number, heard: Heard): HTMLElement {
  const unheard = heard !== 'now';
  const sync = syncBadge(runner, configVersion, unheard);
  return h(
    'li',
    {
      class: `runner tile state-${runner.state}${unheard ? ' unheard' : ''}`,
      'data-testid': 'runner-state',
      'data-runner-id': runner.id ?? '',
      // Which runner, then its state in words: a tile's title was only the words, the same for every dead runner.
      title: `${runner.id ? idText(runner.id) : 'unknown'}: ${stateWords(runner, heard)}`,
    },
    h(
      'p',
      { class: 'tile-head' },
      stateBadge(runner, heard),
      ' ',
      // An id is host:pid unless set: the pid is not said twice.
      runner.id ? idElement(runner.id) : 'unknown',
      runner.pid && !runner.id?.endsWith(`:${runner.pid}`) ? ` (pid ${runner.pid})` : '',
    ),
    h('p', {}, sync, unheard ? [' ', h('span', { class: 'muted' }, 'last heard')] : null),
    h(
      'p',
      { class: 'muted' },
      runner.appliedConfigVersion === null
        ? 'nothing applied yet'
        : `v${runner.appliedConfigVersion} · ${runner.appliedStrategyKey ?? '?'}`,
      ' · scan ',
      timeAgo(runner.lastScanAt),
    ),
    runner.error ? h('p', { class: 'error-text', role: 'note' }, h('strong', {}, 'Error: '), runner.error) : null,
  );
}

/** The states from best to worst: a fleet's summary counts them in this order. */
const STATE_ORDER: readonly Runner['state'][] = ['RUNNING', 'ERROR', 'STOPPED', 'STALE'];

/**
 * A fleet at a glance: how many runners in each state, and the worst (the API's `status.runner`),
 * in the card's heading. Eleven dead runners were eleven cards to scan, under "Runners (11)".
 */
function fleetSummary(runners: readonly Runner[], worst: Runner['state'], heard: (r: Runner) => Heard): HTMLElement {
  if (runners.some((r) => heard(r) === 'storeDown'))
    return h(
      'span',
      { class: 'fleet-summary', 'data-testid': 'runners-summary' },
      h('span', { class: 'badge state neutral' }, `${runners.length} UNKNOWN`),
      ' · store unreachable',
    );
  const unheard = runners.some((r) => heard(r) === 'liveOff');
  const known = runners.filter((r) => !unknown(heard(r)));
  const counts = STATE_ORDER.map((state) => [state, known.filter((r) => r.state === state).length] as const).filter(([, n]) => n > 0);
  const unknowns = runners.length - known.length;
  return h(
    'span',
    { class: 'fleet-summary', 'data-testid': 'runners-summary' },
    ...counts.flatMap(([state, n], i) => [
      i > 0 ? ' ' : null,
      h('span', { class: `badge state ${unheard ? 'neutral' : `state-${state}`}` }, `${n} ${state}`),
    ]),
    unknowns > 0 ? [counts.length > 0 ? ' ' : null, h('span', { class: 'badge state neutral' }, `${unknowns} UNKNOWN`)] : null,
    // The worst is the server's: STALE beside runners not heard yet since the store came back is not said.
    unknowns > 0 && worst === 'STALE' ? ' · store reachable again' : ` · worst: ${worst}`,
    unheard ? ' (last heard)' : null,
  );
}

/**
 * A fleet's tiles, worst first (STATE_ORDER's, the summary's "worst:"), each state in id order: 20
 * STALE tiles were scattered among 21 RUNNING in id order, each dead runner a search.
 */
function worstFirst(runners: readonly Runner[]): Runner[] {
  const rank = (r: Runner) => STATE_ORDER.indexOf(r.state);
  return [...runners].sort((a, b) => rank(b) - rank(a) || byRunnerId(a.id ?? '', b.id ?? ''));
}

/** Who made the version in force, from the audit trail (when the timeline has reached it). */
function lastChange(state: State): HistoryEntry | undefined {
  return state.history?.find((e) => e.version === state.status?.configVersion);
}

export function renderGlance(container: HTMLElement, state: State): void {
  const { status } = state;
  if (!status) {
    rerender(container, () => [h('p', { class: 'muted' }, state.loadError ? `Cannot load the status: ${state.loadError}` : 'Loading…')]);
    return;
  }
  const active = status.activeStrategy;
  const change = lastChange(state);
  const runners = status.runners.length > 0 ? status.runners : [status.runner];
  const storeDown = !status.store.connected;
  const heard = (r: Runner) => heardOf(r, state);
  const notKnown = runners.some((r) => unknown(heard(r)));
  // A fleet's card takes a row of its own, its runners as tiles side by side.
  const fleet = runners.length > 1;
  container.classList.toggle('has-fleet', fleet);
  rerender(container, () => [
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'glance-active' },
      h('h3', { id: 'glance-active' }, 'Active strategy'),
      h('p', { class: 'big' }, active.name, ' ', h('code', { 'data-testid': 'active-strategy' }, active.key)),
      h(
        'p',
        {},
        h('span', { class: `badge risk-${active.riskLevel}` }, RISK_WORDS[active.riskLevel]),
        ' ',
        h('span', { class: 'badge neutral' }, SESSION_WORDS[active.sessionPreference]),
      ),
      h('p', { class: 'muted' }, `Trades ${active.instruments.join(', ')}`),
    ),
    h(
      'article',
      { class: 'card', 'aria-labelledby': 'glance-config' },
      h('h3', { id: 'glance-config' }, 'Config'),
      h('p', { class: 'big' }, 'Version ', h('strong', { 'data-testid': 'config-version' }, String(status.configVersion))),
      h(
        'p',
        {},
        'Changed ',
        timeAgo(change?.time ?? status.configUpdatedAt),
        change ? [' by ', h('strong', { class: 'actor' }, change.actor), ` (${operationKind(change.operation).word})`] : null,
      ),
      h(
        'p',
        {},
        !status.tradingEnabled
          ? h('span', { class: 'badge warn', 'data-testid': 'trading' }, '○ Trading disabled')
          : // Enabled in the config is good news only with a runner scanning: beside a dead fleet it read as all well.
            // While the store is unreachable the runners cannot be heard: not running is not known.
            storeDown
            ? h(
                'span',
                { class: 'badge neutral', 'data-testid': 'trading' },
                '● Trading enabled; the runners are unknown while the store is unreachable',
              )
            : status.runners.some((r) => r.state === 'RUNNING')
              ? h('span', { class: 'badge ok', 'data-testid': 'trading' }, '● Trading enabled')
              : // A runner in ERROR still scans (the server counts it live): "no runner is running" beside it was false.
                liveRunners(status.runners).length > 0
                ? h(
                    'span',
                    { class: 'badge warn', 'data-testid': 'trading' },
                    '● Trading enabled, but every runner running reports an error',
                  )
                : notKnown
                  ? h(
                      'span',
                      { class: 'badge neutral', 'data-testid': 'trading' },
                      '● Trading enabled; the runners are unknown until they are heard again',
                    )
                  : h('span', { class: 'badge warn', 'data-testid': 'trading' }, '● Trading enabled, but no runner is running'),
        state.config ? ` · scan every ${state.config.scanIntervalSeconds} s` : null,
      ),
      status.configError
        ? h(
            'div',
            { class: 'error-box', role: 'alert' },
            h(
              'strong',
              {},
              status.configError.changesRefused
                ? `${status.configError.location} on disk is invalid; the last good config stays in force. `
                : `${status.configError.location} is missing; the last good config stays in force. `,
            ),
            status.configError.message,
          )
        : null,
      status.strategiesError
        ? h(
            'div',
            { class: 'error-box', role: 'alert', 'data-testid': 'strategies-error' },
            h('strong', {}, `${status.strategiesError.location} is not in force; the presets before it stay in force until it is fixed. `),
            status.strategiesError.message,
          )
        : null,
    ),
    h(
      'article',
      { class: `card${fleet ? ' fleet' : ''}`, 'aria-labelledby': 'glance-runners' },
      h(
        'h3',
        { id: 'glance-runners' },
        fleet ? [`Runners (${runners.length}): `, fleetSummary(runners, status.runner.state, heard)] : 'Runner',
      ),
      fleet
        ? h('ul', { class: 'runners tiles' }, ...worstFirst(runners).map((r) => runnerTile(r, status.configVersion, heard(r))))
        : h('ul', { class: 'runners' }, ...runners.map((r) => runnerItem(r, status.configVersion, status.runners.length === 0, heard(r)))),
    ),
  ]);
}
