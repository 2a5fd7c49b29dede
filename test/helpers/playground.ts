import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';

/** Debian's Chromium (DESIGN.md); never a browser downloaded by a test tool. */
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  // Only loopback resolves: a page's request to any other host fails in the browser's own resolver
  // (loopbackOnly records it, so a test fails on it), without routing every request through
  // Playwright (which turns the HTTP cache off and cost each page load ~70 ms).
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
];

export const chromiumInstalled = () => existsSync(CHROMIUM);

/** `backForwardCache`: as browsers ship (Playwright turns the back/forward cache off by default). */
export function launchChromium(options: { backForwardCache?: boolean } = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: CHROMIUM_FLAGS,
    headless: true,
    ...(options.backForwardCache ? { ignoreDefaultArgs: ['--disable-back-forward-cache'] } : {}),
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/**
 * Records every request of the page that is not to loopback (a CDN asset, a font, telemetry), so a
 * test can fail on it; the browser itself resolves no other host (CHROMIUM_FLAGS), so such a request
 * fails too (one to an IP address literal is recorded, not stopped). blob:/data: URLs (GraphiQL's
 * editor workers) never hit the network.
 */
export async function loopbackOnly(page: Page): Promise<string[]> {
  const refused: string[] = [];
  page.on('request', (request) => {
    const url = new URL(request.url());
    if ((url.protocol === 'http:' || url.protocol === 'https:') && !LOOPBACK.has(url.hostname)) refused.push(url.href);
    if (!['http:', 'https:', 'blob:', 'data:'].includes(url.protocol)) refused.push(url.href);
  });
  page.on('websocket', (ws) => {
    if (!LOOPBACK.has(new URL(ws.url()).hostname)) refused.push(ws.url());
  });
  return refused;
}

/** The text of one of GraphiQL's Monaco editors, as rendered (Monaco draws spaces as U+00A0). */
export async function editorText(page: Page, section: string): Promise<string> {
  // biome-ignore lint/performance/useDomNodeTextContent: each Monaco line is a div; only innerText keeps the line breaks
  const text = await page.locator(`${section} .view-lines`).filter({ visible: true }).first().innerText();
  return text.replaceAll('\u00a0', ' ');
}

/** Replaces the content of a GraphiQL editor as a person would: focus, select all, type (paste-like). */
export async function replaceEditorText(page: Page, section: string, text: string): Promise<void> {
  await page.locator(`${section} .view-lines`).filter({ visible: true }).first().click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
}

/** Clicks GraphiQL's run button and waits for the answer to the POST it sends. */
export async function executeOperation(page: Page): Promise<void> {
  const answered = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === '/graphql', {
    timeout: 60_000,
  });
  await page.getByRole('button', { name: /^Execute query/ }).click();
  await answered;
}

export async function openPlayground(page: Page, url: string): Promise<void> {
  // GraphiQL fetches the schema first; a click on Run before that answer may be lost under load.
  const introspected = page.waitForResponse((r) => r.request().method() === 'POST' && (r.request().postData() ?? '').includes('__schema'), {
    timeout: 60_000,
  });
  await page.goto(url, { waitUntil: 'load' });
  await introspected;
  await page.locator('section.graphiql-query-editor .view-lines').first().waitFor();
  // Monaco fills the editor with the default query once the schema is in; wait for it.
  await page.waitForFunction(() => document.querySelector('section.graphiql-query-editor .view-lines')?.textContent?.includes('Overview'));
}
