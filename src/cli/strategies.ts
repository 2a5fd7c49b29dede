import { parseArgs } from 'node:util';
import { execute } from '../client/http.js';
import { type RiskLevel, StrategiesDocument, type TradingSession } from '../generated/graphql.js';
import { UsageError } from '../settings.js';
import { CLIENT_HELP, CLIENT_OPTIONS, noPositionals, printJson, runClientCommand, table } from './client-command.js';
import { EXIT } from './exit-codes.js';

export const help = `Usage: stratctl strategies [options]

Lists the strategies the system ships; * marks the active one.

Filters (all given must match):
  --instrument <name>   e.g. EUR_USD
  --risk-level <level>  low | medium | high
  --session <session>   any | london | ny | asia

${CLIENT_HELP}
`;

const RISK_LEVELS = ['LOW', 'MEDIUM', 'HIGH'] as const satisfies RiskLevel[];
const SESSIONS = ['ANY', 'LONDON', 'NY', 'ASIA'] as const satisfies TradingSession[];

function oneOf<T extends string>(flag: string, raw: string | undefined, allowed: readonly T[]): T | undefined {
  if (raw === undefined) return undefined;
  const value = raw.toUpperCase() as T;
  if (!allowed.includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ').toLowerCase()}, not "${raw}"`);
  return value;
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { ...CLIENT_OPTIONS, instrument: { type: 'string' }, 'risk-level': { type: 'string' }, session: { type: 'string' } },
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(help);
    return EXIT.ok;
  }
  noPositionals(positionals);
  const variables = {
    instrument: values.instrument,
    riskLevel: oneOf('--risk-level', values['risk-level'], RISK_LEVELS),
    sessionPreference: oneOf('--session', values.session, SESSIONS),
  };
  return runClientCommand(values, async (ctx) => {
    const { strategies } = await execute(ctx.settings, StrategiesDocument, variables);
    if (ctx.json) return printJson(ctx, strategies);
    const rows = strategies.map((s) => [
      s.isActive ? '*' : '',
      s.key,
      s.name,
      s.riskLevel.toLowerCase(),
      s.sessionPreference.toLowerCase(),
      s.instruments.join(','),
    ]);
    ctx.print(table(['', 'KEY', 'NAME', 'RISK', 'SESSION', 'INSTRUMENTS'], rows));
  });
}
