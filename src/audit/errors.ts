/** rollbackConfig to a version the history does not hold. */
export class VersionNotInHistoryError extends Error {
  override name = 'VersionNotInHistoryError';
  constructor(
    readonly version: number,
    readonly reason: 'expired' | 'unknown',
    readonly oldestKept: number | undefined,
    readonly newest: number | undefined,
    /** The kept versions as ranges (`1 to 40, 88 to 100`): a hand edit that jumped the version leaves a gap. */
    kept: string = oldestKept === undefined ? 'none' : `versions ${oldestKept} to ${newest}`,
  ) {
    super(
      reason === 'expired'
        ? `Config version ${version} has expired from the history (kept: ${kept})`
        : `Unknown config version: ${version} (kept: ${kept})`,
    );
  }
}
