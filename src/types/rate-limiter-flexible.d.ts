// The one file of rate-limiter-flexible this project uses (src/http/steps/auth-failure-limit.ts),
// imported by its path: the package's index requires every store it ships (Redis, Mongo, Postgres,
// DynamoDB, ...), ~100 KB of bundle each server start would compile and run for nothing. The
// package has no `exports` map, so the path is public; its types are the index's.
declare module 'rate-limiter-flexible/lib/RateLimiterMemory.js' {
  import { RateLimiterMemory } from 'rate-limiter-flexible';
  export default RateLimiterMemory;
}
