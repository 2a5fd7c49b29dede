/** Errors of the strategy registry. They know nothing of GraphQL; the API maps them to codes. */

export class RegistryError extends Error {
  override name = 'RegistryError';
}

/** A key that names no strategy in force (the DESIGN's wording, which scripts match on). */
export class InvalidStrategyKeyError extends Error {
  override name = 'InvalidStrategyKeyError';
  constructor(readonly strategyKey: string) {
    super(`Invalid strategy key: ${strategyKey}`);
  }
}
