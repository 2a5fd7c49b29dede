/** rollbackConfig to a version the history does not hold. */
export class VersionNotInHistoryError extends Error {
  override name = 'VersionNotInHistoryError';
  constructor(
    readonly version: number,
    readonly reason: 'expired' | 'unknown',
    readonly oldestKept: number | undefined,
    readonly newest: number | undefined,
  ) {
    super(
      reason === 'expired'
        ? `Config version ${version} has expired from the history (kept: versions ${oldestKept} to ${newest})`
        : `Unknown config version: ${version} (kept: ${oldestKept === undefined ? 'none' : `versions ${oldestKept} to ${newest}`})`,
    );
  }
}
