/** Exit codes of `stratctl` (DESIGN.md), and EX_CONFIG for a server that cannot start on its config. */
export const EXIT = {
  ok: 0,
  unexpected: 1,
  usage: 2,
  auth: 3,
  conflict: 4,
  unreachable: 5,
  waitTimeout: 6,
  /** RATE_LIMITED or UNAVAILABLE (the config store is unreachable): try again later. */
  tryLater: 7,
  /** sysexits.h EX_CONFIG: the config file is invalid. */
  config: 78,
} as const;
