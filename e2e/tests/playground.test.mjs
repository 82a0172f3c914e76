// The playground in Debian's Chromium with every request that is not to
// the server under test blocked: the page must load from the binary alone,
// run a query and a subscription, and leave a screenshot in e2e/artifacts/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { start } from '../lib/server.mjs';

const artifacts = join(dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
let server;
let browser;

before(async () => {
  server = await start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    timeout: 60_000,
  });
});
after(async () => {
  await browser?.close();
  await server?.stop();
});

// run replaces the operation editor's text and runs it with Ctrl-Enter.
async function run(page, text) {
  const editor = page.locator('.graphiql-query-editor .monaco-editor').first();
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.insertText(text);
  // GraphiQL picks up the new operation name a moment after the edit (the
  // tab is renamed then); running earlier would send the old name.
  const name = text.match(/^\w+ (\w+)/)[1];
  await page.waitForFunction((n) => document.querySelector('.graphiql-tab-active')?.innerText.trim() === n, name, { timeout: 10_000 });
  await page.keyboard.press('ControlOrMeta+Enter');
}

function responseText(page) {
  return page.locator('.graphiql-response .view-lines').first().innerText();
}

test('the playground works offline: a query, a subscription, the docs explorer', async (t) => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const blocked = [];
  const origin = new URL(server.base).origin;
  await page.route('**', (route) => {
    const url = new URL(route.request().url());
    if (url.origin === origin) return route.continue();
    blocked.push(url.href);
    return route.abort();
  });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text());
  });

  t.after(() => page.screenshot({ path: join(artifacts, 'playground-last.png') }).catch(() => {}));
  mkdirSync(artifacts, { recursive: true });
  await page.goto(server.base + '/', { waitUntil: 'load' });
  await page.waitForSelector('.graphiql-query-editor .monaco-editor', { timeout: 30_000 });
  // The guides' operations are there as tabs (checkout.md starts with CreateCart).
  await page.locator('.graphiql-tab', { hasText: 'CreateCart' }).first().waitFor({ timeout: 10_000 });
  // The schema arrived by introspection: the docs explorer opens on it.
  await page.locator('button[aria-label="Show Documentation Explorer"]').click();
  await page.getByText('Query', { exact: true }).first().waitFor({ timeout: 30_000 });

  await run(page, 'query E2E { __typename viewer { id } }');
  await page.waitForFunction(() => /"__typename":\s*"Query"/.test(document.querySelector('.graphiql-response')?.innerText ?? ''), null, { timeout: 30_000 });

  await run(page, 'subscription E2ETicks { serverTime(everySeconds: 1) }');
  // Two different times prove a live stream, not a single answer.
  const firstTick = await page.waitForFunction(() => document.querySelector('.graphiql-response')?.innerText.match(/"serverTime":\s*"([^"]+)"/)?.[1], null, { timeout: 30_000 }).then((h) => h.jsonValue());
  await page.waitForFunction((t) => {
    const m = document.querySelector('.graphiql-response')?.innerText.match(/"serverTime":\s*"([^"]+)"/);
    return m && m[1] !== t;
  }, firstTick, { timeout: 30_000 });

  mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: join(artifacts, 'playground.png') });

  assert.deepEqual(blocked, [], 'the page tried to reach other hosts');
  // Headless Chromium does not ask for the page's icon by itself: ask for
  // the one the page links to.
  const href = await page.locator('link[rel="icon"]').getAttribute('href');
  const icon = await page.request.get(new URL(href, server.base).href);
  const favicon = `${icon.status()} ${icon.headers()['content-type']}`;
  assert.equal(favicon, '200 image/x-icon');
  assert.deepEqual(pageErrors.filter((e) => !/WebSocket connection .* failed/.test(e)), []);
  await page.close();
});
