import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { connect } from '../../src/cli/connect.js';
import { WebSocketServer } from '../../src/index.js';

/** A stream that keeps what is written to it. */
function sink(): PassThrough & { text(): string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  return Object.assign(stream, { text: () => text });
}

describe('tsws connect at a terminal', () => {
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  it('shows a prompt, prints answers as "< ..." in colour, and the close', async () => {
    const input = new PassThrough();
    const output = sink();
    const errors = sink();
    const saved = process.env.NO_COLOR;
    delete process.env.NO_COLOR;
    try {
      const done = connect({
        url,
        headers: {},
        protocols: [],
        wait: 1000,
        interactive: true,
        input,
        output,
        errors,
      });
      await until(() => output.text().includes('> '));
      input.write('hello\n');
      await until(() => output.text().includes('< hello'));
      input.end();
      assert.equal(await done, 0);
    } finally {
      if (saved !== undefined) process.env.NO_COLOR = saved;
    }
    const text = output.text();
    assert.match(text, /\x1b\[32m< hello\x1b\[0m/, 'the answer, green');
    assert.match(text, /connected/);
    assert.match(text, /closed: 1000/);
    assert.equal(errors.text(), '', 'a person reads one stream');
  });
});

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), 'in time');
}
