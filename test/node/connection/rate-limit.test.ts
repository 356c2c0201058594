import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from '../../../src/index.js';
import { connectPair, messages, nextClose, record, turns } from '../../helpers/node-util.js';

// Budgets for what the peer sends: token buckets holding one second's worth, refilled
// continuously. Tests send bursts far over a budget (no timing can make them fit) or well
// under it.

describe('rate limits (rateLimit): 1008 when the peer sends too fast', () => {
  it('messages per second: a burst up to the budget passes, far over it the connection is failed with 1008', async (t) => {
    const { server, client } = await connectPair(t, { rateLimit: { messages: 20 } });
    const got = messages(server, 10);
    for (let i = 0; i < 10; i++) client.send(`m${i}`);
    assert.equal((await got).length, 10);
    assert.equal(server.readyState, WebSocket.OPEN);
    const errors = record(server, ['error']);
    let received = 0;
    server.on('message', () => received++);
    const serverClosed = nextClose(server);
    const clientClosed = nextClose(client);
    for (let i = 0; i < 1000; i++) client.send(`flood ${i}`);
    const { code, reason } = await clientClosed;
    assert.equal(code, 1008);
    assert.match(reason, /rate limit/);
    assert.equal((await serverClosed).code, 1008);
    assert.ok(received < 1000, `the rest was not delivered (${received})`);
    assert.equal(
      (errors[0]?.args[0] as { code?: string } | undefined)?.code,
      'WS_ERR_RATE_LIMITED',
      'reported to error listeners',
    );
  });

  it('bytes per second: counted on message payloads', async (t) => {
    const { server, client } = await connectPair(t, { rateLimit: { bytes: 64 * 1024 } });
    const got = messages(server, 1);
    client.send(Buffer.alloc(32 * 1024));
    await got;
    const closed = nextClose(client);
    for (let i = 0; i < 100; i++) client.send(Buffer.alloc(32 * 1024));
    assert.equal((await closed).code, 1008);
  });

  it('control frames count as messages', async (t) => {
    const { client } = await connectPair(t, { rateLimit: { messages: 10 } });
    const closed = nextClose(client);
    for (let i = 0; i < 500; i++) client.ping();
    assert.equal((await closed).code, 1008);
  });

  it('the budget refills: a second burst after a pause passes', async (t) => {
    const { server, client } = await connectPair(t, { rateLimit: { messages: 20 } });
    let got = messages(server, 15);
    for (let i = 0; i < 15; i++) client.send('a');
    await got;
    // 1.1 s later, at least 22 tokens came back (capped at 20): whatever the machine's load,
    // time only adds to them.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    got = messages(server, 15);
    for (let i = 0; i < 15; i++) client.send('b');
    await got;
    await turns();
    assert.equal(server.readyState, WebSocket.OPEN);
  });

  it('applies to clients too', async (t) => {
    const { server } = await connectPair(t, {}, { rateLimit: { messages: 5 } });
    const closed = nextClose(server);
    for (let i = 0; i < 200; i++) server.send('x');
    assert.equal((await closed).code, 1008);
  });

  it('refuses invalid budgets', () => {
    for (const rateLimit of [{ messages: 0 }, { bytes: -1 }, { messages: Number.NaN }]) {
      assert.throws(() => new WebSocketServer({ noServer: true, rateLimit }), TypeError);
    }
  });
});
