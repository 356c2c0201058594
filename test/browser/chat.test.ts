// Two Chromium pages on two `tsws serve --chat --redis` processes chatting in one room: one
// joins with the demo page's Room field, the other with ?room= in the page's address. Both
// see every message, their own too, in the same order.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser-harness.js';
import { cliPath, type Run, run } from '../helpers/process.js';
import { REDIS_URL, redisClient } from '../helpers/redis.js';

let browser: Browser | undefined;
const servers: Run[] = [];
const pages: string[] = [];
const room = `browser-${randomBytes(4).toString('hex')}`;

before(async () => {
  if (!existsSync(cliPath)) {
    throw new Error(`${cliPath} is missing: build the package first (npm run build)`);
  }
  browser = await launchChromium();
  for (let i = 0; i < 2; i++) {
    const server = run([
      cliPath,
      'serve',
      '--port',
      '0',
      '--host',
      '127.0.0.1',
      '--chat',
      '--redis',
      REDIS_URL,
    ]);
    servers.push(server);
    pages.push((await server.line(/(http:\/\/127\.0\.0\.1:\d+\/)/, 20_000))[1]!);
    await server.line(/chat rooms:/);
  }
});

after(async () => {
  await browser?.close();
  for (const server of servers) {
    if (server.child.exitCode === null) {
      server.child.kill('SIGTERM');
      await server.exit();
    }
  }
  const redis = redisClient();
  await redis.del(`tsws:${room}:log`, `tsws:${room}:last`);
  await redis.quit();
});

async function say(page: Page, text: string): Promise<void> {
  await page.locator('#message').fill(text);
  await page.locator('#send').click();
}

const received = (page: Page) => page.locator('#log li.received').allTextContents();

test('two pages on two servers chat in one room through Redis', async () => {
  const [alice, bob] = [await browser!.newPage(), await browser!.newPage()];
  try {
    // Alice opens the echo page and joins the room with the Room field.
    await alice.goto(pages[0]!);
    await alice.waitForSelector('#send:not([disabled])', { timeout: 10_000 });
    await alice.locator('#room').fill(room);
    await alice.locator('#join').click();
    await alice.waitForFunction(
      (name) => document.getElementById('status')!.textContent!.endsWith(`/chat/${name}`),
      room,
      { timeout: 10_000 },
    );
    assert.equal(new URL(alice.url()).searchParams.get('room'), room, 'the address names the room');
    assert.equal(await alice.locator('h1').textContent(), `tsws chat: ${room}`);
    // Bob comes straight to the room on the other server.
    await bob.goto(`${pages[1]!}?room=${room}`);
    await bob.waitForSelector('#send:not([disabled])', { timeout: 10_000 });
    assert.match(
      (await bob.locator('#status').textContent()) ?? '',
      new RegExp(`:\\d+/chat/${room}$`),
    );
    assert.equal(await bob.locator('#room').inputValue(), room);

    // Bob's server subscribes to the room in Redis within a round trip: wait until it has.
    for (let i = 0; !(await received(bob)).some((m) => m.startsWith('hi bob')); i++) {
      assert.ok(i < 50, 'bob never heard alice');
      await say(alice, `hi bob ${i}`);
      await bob.waitForTimeout(100);
    }
    await say(alice, 'ready?');
    await bob.locator('#log li.received', { hasText: 'ready?' }).waitFor({ timeout: 10_000 });

    const conversation = ['Hello from Alice', 'Hi Alice, Bob here', 'héllo wörld ✓', 'bye'];
    for (const [i, text] of conversation.entries()) {
      // Each line after the previous one came back: the conversation's order is causal.
      const speaker = i % 2 === 0 ? alice : bob;
      await say(speaker, text);
      await speaker.locator('#log li.received', { hasText: text }).waitFor({ timeout: 10_000 });
    }
    for (const page of [alice, bob]) {
      await page.locator('#log li.received', { hasText: 'bye' }).waitFor({ timeout: 10_000 });
    }
    const tail = async (page: Page) => {
      const all = await received(page);
      return all.slice(all.indexOf('ready?') + 1);
    };
    assert.deepEqual(await tail(alice), conversation, 'alice sees everything, her own too');
    assert.deepEqual(await tail(bob), conversation, 'bob sees the same, in the same order');
    assert.equal(await alice.locator('#log li.event', { hasText: 'connection error' }).count(), 0);
  } finally {
    await alice.close();
    await bob.close();
  }
});
