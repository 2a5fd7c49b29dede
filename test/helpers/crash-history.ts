import { expect } from 'vitest';
import { startTestServer } from './server.js';

/** After the crashes: the served history is the audit log's last 100 versions, newest first. */
export async function checkHistoryAfterCrashes(runtimeDir: string, finalVersion: number): Promise<number> {
  const server = await startTestServer({ runtimeDir });
  const res = await server.gql('{ configHistory { version operation } status { configVersion } }');
  expect(res.body.data?.status.configVersion).toBe(finalVersion);
  const versions = res.body.data?.configHistory.map((e: { version: number }) => e.version);
  const expected = Array.from({ length: Math.min(100, finalVersion) }, (_, i) => finalVersion - i);
  expect(versions).toEqual(expected);
  await server.close();
  return versions.length;
}
