import type { RiskLevel, TradingSession } from '../../generated/graphql.js';
import { h, rerender } from '../dom.js';
import { allows, type Filters, RISK_WORDS, SESSION_WORDS, type State, type Strategy } from '../model.js';

export interface StrategiesActions {
  setFilters(filters: Filters): void;
  openActivate(strategy: Strategy): void;
  openTunables(strategy: Strategy): void;
}

const RISKS: RiskLevel[] = ['LOW', 'MEDIUM', 'HIGH'];
const SESSIONS: TradingSession[] = ['ANY', 'LONDON', 'NY', 'ASIA'];

function select(label: string, name: string, value: string, options: [string, string][], onchange: (v: string) => void): HTMLElement {
  const el = h(
    'select',
    { name, id: `filter-${name}`, 'data-focus': `filter-${name}`, onchange: (e: Event) => onchange((e.target as HTMLSelectElement).value) },
    ...options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
  return h('label', { for: `filter-${name}` }, `${label} `, el);
}

function filtersForm(state: State, actions: StrategiesActions): HTMLElement {
  const f = state.filters;
  const set = (patch: Partial<Filters>) => actions.setFilters({ ...f, ...patch });
  return h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter strategies', onsubmit: (e: Event) => e.preventDefault() },
    select('Instrument', 'instrument', f.instrument, [['', 'any'], ...state.instruments.map((i): [string, string] => [i, i])], (v) =>
      set({ instrument: v }),
    ),
    select('Risk', 'risk', f.riskLevel, [['', 'any'], ...RISKS.map((r): [string, string] => [r, RISK_WORDS[r]])], (v) =>
      set({ riskLevel: v as RiskLevel | '' }),
    ),
    select('Session', 'session', f.sessionPreference, [['', 'any'], ...SESSIONS.map((s): [string, string] => [s, SESSION_WORDS[s]])], (v) =>
      set({ sessionPreference: v as TradingSession | '' }),
    ),
  );
}

function row(strategy: Strategy, state: State, actions: StrategiesActions): HTMLElement {
  const canOperate = allows(state.viewer, 'OPERATE');
  const canAdmin = allows(state.viewer, 'ADMIN');
  return h(
    'tr',
    { 'data-testid': 'strategy-row', 'data-key': strategy.key, class: strategy.isActive ? 'active' : null },
    h(
      'th',
      { scope: 'row' },
      h('span', { class: 'name' }, strategy.name),
      h('br'),
      h('code', {}, strategy.key),
      // A preset's name and risk words are its author's: it says what it is a variant of.
      strategy.base
        ? [h('br'), h('span', { class: 'muted', 'data-testid': 'preset-of' }, 'preset of ', h('code', {}, strategy.base))]
        : null,
    ),
    h('td', {}, h('span', { class: `badge risk-${strategy.riskLevel}` }, RISK_WORDS[strategy.riskLevel])),
    h('td', {}, SESSION_WORDS[strategy.sessionPreference]),
    h('td', {}, strategy.instruments.join(', ')),
    h('td', {}, strategy.isActive ? h('span', { class: 'badge ok' }, '● active') : h('span', { class: 'muted' }, 'inactive')),
    h(
      'td',
      { class: 'row-actions' },
      h(
        'button',
        {
          type: 'button',
          'data-action': 'activate',
          'data-focus': `activate-${strategy.key}`,
          disabled: !canOperate || strategy.isActive,
          title: canOperate ? null : 'Needs a token with scope operate',
          onclick: () => actions.openActivate(strategy),
        },
        strategy.isActive ? 'Active' : 'Activate…',
      ),
      ' ',
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          'data-action': 'tunables',
          'data-focus': `tunables-${strategy.key}`,
          onclick: () => actions.openTunables(strategy),
        },
        canAdmin ? 'Tunables…' : 'Tunables',
      ),
    ),
  );
}

let lastKey = '';

export function renderStrategies(container: HTMLElement, state: State, actions: StrategiesActions): void {
  const key = JSON.stringify([state.strategies, state.filters, state.instruments, state.viewer, state.loadError]);
  if (key === lastKey) return;
  lastKey = key;
  rerender(container, () => [
    filtersForm(state, actions),
    state.strategies === null
      ? h('p', { class: 'muted' }, state.loadError ? `Not loaded: ${state.loadError}` : 'Loading…')
      : state.strategies.length === 0
        ? h('p', { class: 'muted' }, 'No strategy matches these filters.')
        : h(
            'div',
            { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': 'Strategies table' },
            h(
              'table',
              {},
              h(
                'thead',
                {},
                h('tr', {}, ...['Strategy', 'Risk', 'Session', 'Instruments', 'State', 'Actions'].map((c) => h('th', { scope: 'col' }, c))),
              ),
              h('tbody', {}, ...state.strategies.map((s) => row(s, state, actions))),
            ),
          ),
  ]);
}
