import { eurUsd5mSafeSignal } from './eur-usd-5m-safe.js';
import { goldSignal } from './gold.js';
import { momentumSignal } from './momentum.js';
import { momentumV2Signal } from './momentum-v2.js';
import { rangeSignal } from './range.js';
import type { SignalFunction } from './types.js';

export type { Candle, Signal, SignalDirection, SignalFunction, SignalInput } from './types.js';

/** The code of each registry strategy, by key (static, like the registry: a new one needs a restart). */
export const SIGNAL_FUNCTIONS: Readonly<Record<string, SignalFunction>> = Object.freeze({
  momentum: momentumSignal,
  gold: goldSignal,
  range: rangeSignal,
  eur_usd_5m_safe: eurUsd5mSafeSignal,
  momentum_v2: momentumV2Signal,
});

export function getSignalFunction(strategyKey: string): SignalFunction | undefined {
  return Object.hasOwn(SIGNAL_FUNCTIONS, strategyKey) ? SIGNAL_FUNCTIONS[strategyKey] : undefined;
}
