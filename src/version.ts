import { createRequire } from 'node:module';

/** This package's version (package.json is one level above both src/ and dist/). */
export const PACKAGE_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
