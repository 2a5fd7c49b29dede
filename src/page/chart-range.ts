import uPlot from 'uplot';

/**
 * The charts' ranges when every point is at one place (one point, or several at one time or one
 * price): uPlot's own ranges for that case are built for no data in particular, a time axis of
 * 1,000 days ("Feb 2027 … Aug 2029" with the point at its left edge, ticks with no years) and a
 * value axis from 0 to twice the value (gold at 2,310 on an axis 0 to 4,000, a flat line).
 */

/** A lone time spans this much either side of it, in seconds (the timeline's version, a signal chart's candle). */
export const LONE_TIME_PAD_S = 3600;

/** A lone value spans this share of itself either side of it (gold at 2,310: 2,298 to 2,322). */
export const LONE_VALUE_PAD = 0.005;

/**
 * A time axis: the data's span (`min`, `max` as uPlot asks), or `pad` seconds either side of a lone
 * time. uPlot widens that case itself before asking (by 1,000 days), so the times are looked at:
 * the first and last, as uPlot's own check.
 */
export function timeRange(
  times: ArrayLike<number | null | undefined>,
  min: number | null,
  max: number | null,
  pad = LONE_TIME_PAD_S,
): uPlot.Range.MinMax {
  const first = times.length > 0 ? times[0] : undefined;
  const last = times.length > 0 ? times[times.length - 1] : undefined;
  return first == null || first !== last ? [min, max] : [first - pad, first + pad];
}

/**
 * A price axis: uPlot's own (its default for a value axis: a tenth of the span either side, snapped),
 * or LONE_VALUE_PAD of the price either side when every price is one (1 either side of 0).
 */
export function priceRange(min: number | null, max: number | null): uPlot.Range.MinMax {
  if (min === null || max === null) return [min, max];
  if (min !== max) return uPlot.rangeNum(min, max, 0.1, true);
  const pad = min === 0 ? 1 : Math.abs(min) * LONE_VALUE_PAD;
  return [min - pad, min + pad];
}
