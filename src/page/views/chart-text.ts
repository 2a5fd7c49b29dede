import type uPlot from 'uplot';
import { h } from '../dom.js';

/**
 * What a chart draws, for those who cannot see it: the canvas says nothing to a screen reader, and
 * uPlot's legend entries (click to hide a series) have tabIndex -1, so the keyboard could not
 * reach them. Each chart's drawing is hidden from assistive technology, and the chart gets a
 * description in words (kept in step with its data) and a legend of real buttons.
 */

let ids = 0;
/** A page-unique id for a chart's description. */
export const textId = (what: string) => `${what}-${++ids}`;

export interface LegendItem {
  /** The series' index in the plot. */
  readonly series: number;
  readonly label: string;
  /** The series' mark as drawn (▲, ●, —), shown in its colour beside the label. */
  readonly mark: string;
  readonly colour: string;
}

/**
 * The legend as toggle buttons (Tab reaches them; Enter or Space shows or hides the series; the
 * page's focus ring shows which has focus). `aria-pressed` is read back from the plot after each
 * toggle, so it says what is drawn.
 */
export function chartLegend(name: string, items: readonly LegendItem[], plot: () => uPlot | null): HTMLElement {
  return h(
    'div',
    { class: 'chart-legend', role: 'group', 'aria-label': `${name}: series shown (press to hide or show)` },
    ...items.map((item) => {
      const mark = h('span', { class: 'legend-mark', 'aria-hidden': 'true' }, item.mark);
      // Set through the CSSOM: the page's Content-Security-Policy refuses style attributes.
      mark.style.color = item.colour;
      const button = h(
        'button',
        {
          type: 'button',
          class: 'legend-item',
          'aria-pressed': 'true',
          'data-series': item.label,
          onclick: () => {
            const p = plot();
            const series = p?.series[item.series];
            if (!p || !series) return;
            p.setSeries(item.series, { show: series.show === false });
            button.setAttribute('aria-pressed', String(p.series[item.series]?.show !== false));
          },
        },
        mark,
        ' ',
        item.label,
      );
      return button;
    }),
  );
}

/** The drawing itself (canvases, axes' labels): hidden from assistive technology, which gets the words instead. */
export function hideDrawing(root: HTMLElement): void {
  root.setAttribute('aria-hidden', 'true');
}
