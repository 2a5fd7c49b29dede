import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHROMIUM,
  chromiumInstalled,
  editorText,
  executeOperation,
  launchChromium,
  loopbackOnly,
  openPlayground,
  replaceEditorText,
} from '../helpers/playground.js';
import { startTestServer } from '../helpers/server.js';

const available = chromiumInstalled();
const inCI = process.env.CI === 'true';

if (!available) {
  const notice = `\n${'!'.repeat(78)}\n!! BROWSER TEST SKIPPED: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run does it).\n${'!'.repeat(78)}\n`;
  process.stderr.write(notice);
}

describe.runIf(!available && inCI)('the playground in a real browser (CI)', () => {
  it(`needs Chromium at ${CHROMIUM} under CI=true`, () => {
    expect.fail(`${CHROMIUM} is missing and CI=true: the browser test must run in CI (.ci/run installs chromium)`);
  });
});

describe.skipIf(!available)('the playground (GraphiQL) in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
  });

  it('runs the default query, then activateStrategy with the token set in the Headers editor; loopback only', async () => {
    const server = await startTestServer();
    // Tall enough that Monaco renders every line of the answer.
    const page = await browser.newPage({ viewport: { width: 1400, height: 2600 } });
    const refused = await loopbackOnly(page);
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));

    await openPlayground(page, server.url);
    await executeOperation(page);
    await expect.poll(() => editorText(page, 'section.result-window')).toContain('"strategies"');
    const overview = await editorText(page, 'section.result-window');
    for (const key of ['momentum', 'gold', 'range', 'eur_usd_5m_safe', 'momentum_v2']) expect(overview).toContain(`"key": "${key}"`);
    expect(overview).toContain('"activeStrategyKey": "momentum"');

    // Without a token the mutation is refused; the Headers editor is where a person puts it.
    await replaceEditorText(
      page,
      'section.graphiql-query-editor',
      'mutation { activateStrategy(strategyKey: "gold") { activeStrategyKey previousStrategyKey configVersion } }',
    );
    // GraphiQL takes the edit in after a debounce (the tab is renamed then); a Run before that is lost.
    await expect.poll(() => page.locator('.graphiql-tab').allTextContents()).toEqual(['<untitled>']);
    await executeOperation(page);
    await expect.poll(() => editorText(page, 'section.result-window')).toContain('Authentication required');

    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await replaceEditorText(page, 'section.graphiql-editor-tool', `{"Authorization": "Bearer ${server.token}"}`);
    // Monaco draws typed text on its next frames; under load a read right after typing sees an empty editor.
    await expect.poll(() => editorText(page, 'section.graphiql-editor-tool')).toContain(`"Authorization": "Bearer ${server.token}"`);
    await executeOperation(page);
    await expect.poll(() => editorText(page, 'section.result-window')).toContain('"activeStrategyKey": "gold"');
    expect(await editorText(page, 'section.result-window')).toContain('"previousStrategyKey": "momentum"');

    const onDisk = await readFile(path.join(server.runtimeDir, 'config.yaml'), 'utf8');
    expect(onDisk).toMatch(/^active_strategy_key: gold$/m);
    expect(onDisk).toMatch(/^version: 2$/m);
    expect(refused, 'requests beyond loopback').toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it('--reads-require-token: the default query says a token is needed; after it is entered, "Re-fetch GraphQL schema" fills the docs', async () => {
    const server = await startTestServer({ readsRequireToken: true });
    const page = await browser.newPage({ viewport: { width: 1400, height: 1200 } });
    const refused = await loopbackOnly(page);
    const docs = async () => (await page.locator('.graphiql-doc-explorer').textContent()) ?? '';
    await openPlayground(page, server.url);
    expect(await editorText(page, 'section.graphiql-query-editor')).toContain('needs a token for reads too');

    // The schema asked for on load was refused: the docs explorer cannot show it.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await expect.poll(docs).toContain('Error fetching schema');

    await page.getByRole('button', { name: 'Headers', exact: true }).click();
    await replaceEditorText(page, 'section.graphiql-editor-tool', `{"Authorization": "Bearer ${server.token}"}`);
    await expect.poll(() => editorText(page, 'section.graphiql-editor-tool')).toContain(`"Authorization": "Bearer ${server.token}"`);
    // The button the default query's comment names (GraphiQL does not fetch again on its own).
    const refetched = page.waitForResponse((r) => (r.request().postData() ?? '').includes('__schema') && r.status() === 200);
    await page.getByRole('button', { name: /^Re-fetch GraphQL schema/ }).click();
    await refetched;
    await expect.poll(docs).toContain('Query');
    expect(await docs()).not.toContain('Error fetching schema');
    expect(refused, 'requests beyond loopback').toEqual([]);
  }, 90_000);

  it('the network guard itself refuses and records a request beyond loopback', async () => {
    const server = await startTestServer();
    const page = await browser.newPage();
    const refused = await loopbackOnly(page);
    await page.goto(`${server.origin}/health`);
    const outcome = await page.evaluate(() =>
      fetch('https://cdn.jsdelivr.net/npm/graphiql/graphiql.min.css').then(
        () => 'fetched',
        () => 'refused',
      ),
    );
    expect(outcome).toBe('refused');
    expect(refused).toEqual(['https://cdn.jsdelivr.net/npm/graphiql/graphiql.min.css']);
  });
});
