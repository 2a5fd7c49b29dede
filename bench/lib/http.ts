import { Agent, request } from 'node:http';
import { TOKEN } from './processes.js';

export interface Answer {
  status: number;
  body: any;
  text: string;
  ms: number;
}

/** One GraphQL POST over node:http (lighter than fetch, so the client steals less CPU from the server). */
export function postGraphQL(
  url: string,
  payload: { query: string; variables?: Record<string, unknown> },
  agent?: Agent | false,
): Promise<Answer> {
  const body = JSON.stringify(payload);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      url,
      {
        method: 'POST',
        agent: agent ?? false,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization: `Bearer ${TOKEN}`,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ms = performance.now() - t0;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            parsed = undefined;
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, text, ms });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export function keepAlive(maxSockets: number): Agent {
  return new Agent({ keepAlive: true, maxSockets });
}

/** GET `url`, resolving with the status, or 0 when nothing answers yet. */
export function getStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', () => resolve(0));
    req.end();
  });
}

export const STRATEGY_KEYS = ['gold', 'range', 'momentum', 'eur_usd_5m_safe', 'momentum_v2'] as const;

export const QUERIES = {
  strategies: '{ strategies { key name instruments riskLevel } }',
  status: '{ status { activeStrategyKey configVersion runner { state } } }',
  activate: 'mutation Activate($k: String!) { activateStrategy(strategyKey: $k) { activeStrategyKey previousStrategyKey configVersion } }',
  activateAndWait:
    'mutation ActivateAndWait($k: String!) { activateStrategy(strategyKey: $k, waitForRunner: true, timeoutMs: 5000) { configVersion runnerWait { applied waitedMs } } }',
} as const;

/** The next key in round-robin order: consecutive activations never name the same strategy. */
export function keyCycle(start = 0): () => string {
  let i = start;
  return () => STRATEGY_KEYS[i++ % STRATEGY_KEYS.length]!;
}

/** A successful activation answer: its version, or a reason it is not one. */
export function activationOf(answer: Answer): { ok: true; version: number; noOp: boolean } | { ok: false; reason: string } {
  const a = answer.body?.data?.activateStrategy;
  if (answer.status !== 200 || !a) return { ok: false, reason: `HTTP ${answer.status}: ${answer.text.slice(0, 300)}` };
  return {
    ok: true,
    version: a.configVersion,
    noOp: a.changed === false || (a.previousStrategyKey !== undefined && a.previousStrategyKey === a.activeStrategyKey),
  };
}
