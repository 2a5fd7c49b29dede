/**
 * A read storm in its own process, so the client timing the activations beside it has a quiet
 * event loop: `node --import tsx bench/load-child.ts '<LoadSpec as JSON>'`. Prints "storm started"
 * when autocannon starts, runs until SIGTERM (or the spec's duration), then prints "RESULT <json>".
 */
import autocannon from 'autocannon';
import { HEADERS, type LoadSpec } from './lib/load.js';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec & { body: string };
let done!: (r: autocannon.Result) => void;
const finished = new Promise<autocannon.Result>((resolve) => (done = resolve));
const instance = autocannon(
  { url: spec.url, connections: spec.connections, duration: spec.duration, method: 'POST', headers: HEADERS, body: spec.body },
  (err, result) => {
    if (err) throw err;
    done(result);
  },
);
instance.on('start', () => process.stdout.write('storm started\n'));
process.on('SIGTERM', () => instance.stop());
const result = await finished;
process.stdout.write(
  `RESULT ${JSON.stringify({ rps: result['2xx'] / result.duration, ok: result['2xx'], non2xx: result.non2xx, errors: result.errors })}\n`,
);
process.exit(0);
