/** Exit codes of `stratctl` (DESIGN.md), and the sysexits-style ones `serve` and `runner` add. */
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
  /** sysexits.h EX_CANTCREAT: the runtime directory cannot be created or written. */
  runtimeDirNotWritable: 73,
  /** sysexits.h EX_TEMPFAIL: another live process holds the runtime directory (its pid is named). */
  runtimeDirInUse: 75,
  /** sysexits.h EX_CONFIG: the config file is invalid. */
  config: 78,
  /** EADDRINUSE's errno on Linux: the port is taken. */
  portInUse: 98,
} as const;
