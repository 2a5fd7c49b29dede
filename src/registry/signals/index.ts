export { eurUsd5mSafeSignal } from './eur-usd-5m-safe.js';
export { goldSignal } from './gold.js';
export { momentumSignal } from './momentum.js';
export { momentumV2Signal } from './momentum-v2.js';
export { rangeSignal } from './range.js';
export type { Candle, Signal, SignalDirection, SignalFunction, SignalInput, TunableValue } from './types.js';
