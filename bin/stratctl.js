#!/usr/bin/env node
// The stratctl command: the built JavaScript (dist/, built by `npm ci` through `prepare`), run by plain node.
let cli;
try {
  cli = await import('../dist/cli/main.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli/main.js')) throw err;
  process.stderr.write('stratctl: dist/ is not built: run `npm run build` (npm ci does it) in the package directory\n');
  process.exit(1);
}
await cli.main();
