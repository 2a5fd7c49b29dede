import { eurUsd5mSafeSignal } from './signals/eur-usd-5m-safe.js';
import { goldSignal } from './signals/gold.js';
import { momentumSignal } from './signals/momentum.js';
import { momentumV2Signal } from './signals/momentum-v2.js';
import { rangeSignal } from './signals/range.js';
import { lessThan } from './tunables.js';
import type { StrategyDefinition } from './types.js';

/**
 * The strategies this system ships. Vetted code, never loaded from outside at run time: adding one
 * here needs a restart; activating one is a config change and does not.
 */
export const STRATEGIES: Readonly<Record<string, StrategyDefinition>> = {
  momentum: {
    key: 'momentum',
    name: 'Momentum',
    description:
      'Trend-following on the major FX pairs: goes long when the return over the lookback window exceeds the entry threshold, short when it falls below its negative, flat in between. Stops and targets are sized in ATR so they scale with volatility.',
    instruments: ['EUR_USD', 'GBP_USD', 'USD_JPY'],
    tunables: {
      lookback_bars: { type: 'integer', default: 20, min: 2, max: 500, description: 'Bars over which the return is measured.' },
      entry_threshold_pct: {
        type: 'number',
        default: 0.15,
        min: 0.001,
        max: 10,
        description: 'Minimum absolute return over the lookback, in percent, to take a position.',
      },
      atr_period: { type: 'integer', default: 14, min: 2, max: 200, description: 'Average True Range period used for stops.' },
      stop_loss_atr: { type: 'number', default: 2, min: 0.1, max: 20, description: 'Stop distance in multiples of ATR.' },
      take_profit_atr: { type: 'number', default: 3, min: 0.1, max: 50, description: 'Target distance in multiples of ATR.' },
    },
    riskLevel: 'medium',
    sessionPreference: 'london',
    signal: momentumSignal,
  },
  gold: {
    key: 'gold',
    name: 'Gold Trend',
    description:
      'Moving-average crossover on spot gold (XAU_USD): long while the fast simple moving average is above the slow one, short while it is below, flat when they are within the minimum separation. Traded in the New York session, when gold is most liquid.',
    instruments: ['XAU_USD'],
    tunables: {
      fast_ma_period: { type: 'integer', default: 20, min: 2, max: 200, description: 'Fast simple moving average period.' },
      slow_ma_period: { type: 'integer', default: 50, min: 3, max: 500, description: 'Slow simple moving average period.' },
      min_separation_pct: {
        type: 'number',
        default: 0.05,
        min: 0,
        max: 5,
        description: 'Minimum gap between the averages, in percent of price, to count as a crossover.',
      },
      atr_period: { type: 'integer', default: 14, min: 2, max: 200, description: 'Average True Range period used for stops.' },
      stop_loss_atr: { type: 'number', default: 2.5, min: 0.1, max: 20, description: 'Stop distance in multiples of ATR.' },
    },
    rules: [
      lessThan('fast_ma_period', 'slow_ma_period', 'the fast average must be the shorter one, or the crossover signals are inverted'),
    ],
    riskLevel: 'high',
    sessionPreference: 'ny',
    signal: goldSignal,
  },
  range: {
    key: 'range',
    name: 'Range Mean Reversion',
    description:
      'Mean reversion inside a volatility band on quiet crosses: sells when price closes above the upper Bollinger band, buys below the lower band, and stays flat inside it. Built for the range-bound Asian session.',
    instruments: ['EUR_GBP', 'AUD_NZD', 'EUR_CHF'],
    tunables: {
      band_period: { type: 'integer', default: 20, min: 5, max: 500, description: 'Bars in the moving average at the centre of the band.' },
      band_std_dev: { type: 'number', default: 2, min: 0.5, max: 5, description: 'Band half-width in standard deviations.' },
      exit_at_mean: { type: 'boolean', default: true, description: 'Close the position when price returns to the band centre.' },
      stop_loss_pips: { type: 'number', default: 15, min: 1, max: 500, description: 'Hard stop distance in pips.' },
    },
    riskLevel: 'low',
    sessionPreference: 'asia',
    signal: rangeSignal,
  },
  eur_usd_5m_safe: {
    key: 'eur_usd_5m_safe',
    name: 'EUR/USD 5m Safe',
    description:
      'Conservative five-minute momentum on EUR_USD only: a small threshold over one hour of 5-minute bars, tight pip stops, a spread filter and a daily trade cap. The strategy to leave running when in doubt.',
    instruments: ['EUR_USD'],
    tunables: {
      lookback_bars: { type: 'integer', default: 12, min: 2, max: 288, description: '5-minute bars over which the return is measured.' },
      entry_threshold_pct: {
        type: 'number',
        default: 0.08,
        min: 0.001,
        max: 5,
        description: 'Minimum absolute return over the lookback, in percent, to take a position.',
      },
      max_spread_pips: { type: 'number', default: 1.2, min: 0.1, max: 20, description: 'No entry while the spread is wider than this.' },
      stop_loss_pips: { type: 'number', default: 8, min: 1, max: 100, description: 'Hard stop distance in pips.' },
      take_profit_pips: { type: 'number', default: 12, min: 1, max: 200, description: 'Target distance in pips.' },
      max_trades_per_day: { type: 'integer', default: 4, min: 0, max: 100, description: 'Entries allowed per trading day.' },
    },
    riskLevel: 'low',
    sessionPreference: 'london',
    signal: eurUsd5mSafeSignal,
  },
  momentum_v2: {
    key: 'momentum_v2',
    name: 'Momentum v2',
    description:
      'Volatility-adjusted momentum: the lookback return is scored as a z-score against recent volatility and only traded in the direction of the long exponential moving average, with a trailing stop. More signals than Momentum, and more risk.',
    instruments: ['EUR_USD', 'GBP_USD', 'USD_JPY', 'AUD_USD'],
    tunables: {
      lookback_bars: { type: 'integer', default: 30, min: 2, max: 500, description: 'Bars over which the return is measured.' },
      entry_z_score: {
        type: 'number',
        default: 1,
        min: 0.1,
        max: 10,
        description: 'Return over the lookback, in standard deviations of bar returns, needed to enter.',
      },
      volatility_window: { type: 'integer', default: 50, min: 5, max: 1000, description: 'Bars used to estimate return volatility.' },
      trend_ema_period: {
        type: 'integer',
        default: 100,
        min: 5,
        max: 1000,
        description: 'Trend filter: trade only on its side of this EMA.',
      },
      stop_loss_atr: { type: 'number', default: 1.5, min: 0.1, max: 20, description: 'Initial stop distance in multiples of ATR.' },
      trailing_stop: { type: 'boolean', default: true, description: 'Trail the stop behind price once in profit.' },
    },
    riskLevel: 'high',
    sessionPreference: 'any',
    signal: momentumV2Signal,
  },
};
