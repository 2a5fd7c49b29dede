#!/usr/bin/env node
// The stratctl command: runs src/cli.ts through tsx, so no build step stands between a change and its use.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
