// The demo page of `tsws serve`, in a real browser: the page connects, what is typed and sent
// comes back in the log. With UPDATE_SCREENSHOT=1 the page is saved to docs/demo.png.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser-harness.js';
import { cliPath, type Run, repoRoot, run } from '../helpers/process.js';

let browser: Browser | undefined;
let server: Run | undefined;
let pageUrl = '';

before(async () => {
  if (!existsSync(cliPath)) {
    throw new Error(`${cliPath} is missing: build the package first (npm run build)`);
  }
  browser = await launchChromium();
  server = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1']);
  const match = await server.line(/(http:\/\/127\.0\.0\.1:\d+\/)/);
  pageUrl = match[1]!;
});

after(async () => {
  await browser?.close();
  if (server !== undefined && server.child.exitCode === null) {
    server.child.kill('SIGTERM');
    await server.exit();
  }
});

test('the demo page in Chromium: connects, sends what is typed, shows the echo', async () => {
  const page = await browser!.newPage({ viewport: { width: 720, height: 380 } });
  try {
    await page.goto(pageUrl);
    const send = page.locator('#send');
    await send.waitFor();
    // The button is enabled once the socket is open, and the status says so.
    await page.waitForSelector('#send:not([disabled])', { timeout: 10_000 });
    assert.match((await page.locator('#status').textContent()) ?? '', /^connected to ws:\/\//);
    assert.equal(await page.locator('#room').inputValue(), '', 'no room: the echo');
    const messages = ['Hello from Chromium', 'héllo wörld ✓'];
    for (const [i, text] of messages.entries()) {
      await page.locator('#message').pressSequentially(text);
      if (i === 0) await send.click();
      else await page.locator('#message').press('Enter'); // the form submits on Enter too
      await page.locator('#log li.received').nth(i).waitFor({ timeout: 5_000 });
      assert.equal(await page.locator('#message').inputValue(), '', 'the box is emptied');
    }
    assert.deepEqual(await page.locator('#log li.received').allTextContents(), messages);
    assert.deepEqual(await page.locator('#log li.sent').allTextContents(), messages);
    assert.equal(await page.locator('#log li.event').count(), 0, 'no connection error');
    // An empty box sends nothing.
    await send.click();
    assert.equal(await page.locator('#log li').count(), 4);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await mkdir(`${repoRoot}docs`, { recursive: true });
      await page.screenshot({ path: `${repoRoot}docs/demo.png` });
    }
  } finally {
    await page.close();
  }
});
