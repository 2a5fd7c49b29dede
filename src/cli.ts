// `node dist/cli.js <command>` (npm start: `exec node --single-threaded-gc dist/cli.js serve`): the stratctl process entry.
// The commands themselves live in cli/, testable in-process through runCli (cli/main.ts).
// The heap is tuned first, before the commands' modules are loaded (their loading already grows
// V8's young generation), and here, for this process only: tests run commands in their own.
// `serve` starts from the code V8 compiled in the build's run when that fits (src/code-cache.ts).
import { fileURLToPath } from 'node:url';
import { tuneHeap } from './heap-tuning.js';

tuneHeap();
// Only `serve` (the other commands load nothing of it); from the sources (tsx), there is no bundle.
const fromCodeCache =
  process.argv[2] === 'serve' &&
  !import.meta.url.endsWith('.ts') &&
  (await import('./code-cache.js')).runServeFromCodeCache(fileURLToPath(new URL('.', import.meta.url)));
if (!fromCodeCache) {
  const { main } = await import('./cli/main.js');
  await main();
}
