#!/usr/bin/env node
// The stratctl command: the built JavaScript (dist/, built by `npm ci` through `prepare`), run by plain node.
import { main } from '../dist/cli/main.js';

await main();
