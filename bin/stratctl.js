#!/usr/bin/env node
// The stratctl command: the built JavaScript (dist/cli.js, built by `npm ci` through `prepare`), run by plain node.
try {
  await import('../dist/cli.js');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli.js')) throw err;
  process.stderr.write('stratctl: dist/ is not built: run `npm run build` in the package directory (npm ci does it)\n');
  process.exit(1);
}
