// `node dist/cli.js <command>` (npm start: `exec node --single-threaded-gc dist/cli.js serve`): the stratctl process entry.
// The commands themselves live in cli/, testable in-process through runCli (cli/main.ts).
// The heap is tuned first, before the commands' modules are loaded (their loading already grows
// V8's young generation), and here, for this process only: tests run commands in their own.
import { tuneHeap } from './heap-tuning.js';

tuneHeap();
const { main } = await import('./cli/main.js');
await main();
