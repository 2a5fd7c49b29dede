// `node dist/cli.js <command>` (npm start: `exec node dist/cli.js serve`): the stratctl process entry.
// The commands themselves live in cli/, testable in-process through runCli (cli/main.ts).
import { main } from './cli/main.js';

await main();
