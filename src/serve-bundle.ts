// dist/serve.cjs: the whole CLI as one CommonJS file, run by dist/cli.js for `serve` with V8's code
// cache (src/code-cache.ts). The heap is already tuned by then (src/cli.ts).
import { main } from './cli/main.js';

void main();
