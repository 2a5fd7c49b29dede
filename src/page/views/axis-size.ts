import uPlot from 'uplot';

/**
 * A value axis as wide as its widest tick label. A fixed width cut off the leading digits of longer
 * labels: the timeline's versions past 10,000 ("2,020" for v12020) and a price with fine steps
 * (",310.504" for 2,310.504), as uPlot draws a left axis's labels right-aligned at its ticks.
 */

/** uPlot's axis as it is at run time: `font` is [font at the device's pixel ratio, its size, its CSS size]. */
interface DrawnAxis {
  font: [string, number, number];
  gap: number;
  ticks: { show: boolean; size: number };
  _size?: number;
  _pos?: number;
  _values?: string[] | null;
}

/** Room left of a label's start, so no glyph's edge touches the canvas's. */
const SLACK_PX = 2;

let measurer: CanvasRenderingContext2D | null = null;

function widest(font: string, labels: readonly string[]): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return 0;
  measurer.font = font;
  return labels.reduce((w, label) => Math.max(w, measurer!.measureText(label).width), 0);
}

const drawn = (u: uPlot, axisIdx: number) => u.axes[axisIdx] as unknown as DrawnAxis;

/** uPlot's `size` of an axis: its widest label, tick and gap; at least `min` CSS pixels, as the fixed width was. */
export function labelWidthSize(min: number): uPlot.Axis.Size {
  return (u, values, axisIdx, cycleNum) => {
    const axis = drawn(u, axisIdx);
    // Labels do not depend on the axis's width: a later cycle keeps the width found.
    if (cycleNum > 1 && axis._size != null) return axis._size;
    const labels = (values ?? []).filter((v): v is string => typeof v === 'string');
    const text = widest(axis.font[0], labels) / (uPlot.pxRatio || 1);
    const tick = axis.ticks.show ? axis.ticks.size : 0;
    return Math.max(min, Math.ceil(text + tick + axis.gap + SLACK_PX));
  };
}

/**
 * The labels of a value axis as drawn and the room uPlot left for them (CSS pixels from the canvas's
 * left edge to where they end), on `el`'s `data-y-axis`, for a test: the axis is drawn on a canvas.
 */
export function recordValueAxis(u: uPlot, el: HTMLElement, axisIdx = 1): void {
  const axis = drawn(u, axisIdx);
  const tick = axis.ticks.show ? axis.ticks.size : 0;
  el.dataset.yAxis = JSON.stringify({
    labels: axis._values ?? [],
    room: (axis._pos ?? 0) - tick - axis.gap,
    font: axis.font[0],
    pxRatio: uPlot.pxRatio || 1,
  });
}
