import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import TswsDefault, {
  createWebSocketStream,
  Server,
  WebSocket,
  WebSocketServer,
} from '../../src/index.js';
import { connectPair, next, nextClose, until, WAIT, within } from '../helpers/node-util.js';

describe('ws compatibility extras', () => {
  it('has the default export shape of ws', () => {
    assert.equal(TswsDefault, WebSocket);
    assert.equal(TswsDefault.WebSocketServer, WebSocketServer);
    assert.equal(TswsDefault.Server, WebSocketServer);
    assert.equal(Server, WebSocketServer);
    assert.equal(TswsDefault.createWebSocketStream, createWebSocketStream);
  });

  describe('EventTarget API', () => {
    it('delivers open, message (text as a string), close events to on* and listeners', async (t) => {
      const { wss, url } = await connectPair(t).then(({ wss, url }) => ({ wss, url }));
      wss.on('connection', (ws) => {
        ws.send('text');
        ws.send(Buffer.from([1, 2]));
        ws.close(4001, 'bye');
      });
      const ws = new WebSocket(url);
      const log: string[] = [];
      ws.onopen = (event) => log.push(`open ${(event as { type: string }).type}`);
      const onMessage = (event: unknown) => {
        const { data, target } = event as { data: unknown; target: unknown };
        assert.equal(target, ws);
        log.push(
          typeof data === 'string' ? `text ${data}` : `binary ${(data as Buffer).toString('hex')}`,
        );
      };
      ws.addEventListener('message', onMessage);
      ws.addEventListener('message', onMessage); // added once only
      const closed = new Promise<{ code: number; reason: string; wasClean: boolean }>((resolve) => {
        ws.onclose = (event) => resolve(event as never);
      });
      const { code, reason, wasClean } = await within(closed, 'close event');
      assert.deepEqual(log, ['open open', 'text text', 'binary 0102']);
      assert.equal(code, 4001);
      assert.equal(reason, 'bye');
      assert.equal(wasClean, true);
    });

    it('replaces an on* handler, removes listeners, honours once and handleEvent objects', async (t) => {
      const { server, client } = await connectPair(t);
      const got: string[] = [];
      client.onmessage = () => got.push('first');
      client.onmessage = () => got.push('second');
      assert.equal(typeof client.onmessage, 'function');
      const removed = () => got.push('removed');
      client.addEventListener('message', removed);
      client.removeEventListener('message', removed);
      client.addEventListener('message', () => got.push('once'), { once: true });
      client.addEventListener('message', { handleEvent: () => got.push('object') });
      server.send('a');
      server.send('b');
      await until(() => got.length >= 5, 'two messages handled');
      assert.deepEqual(got, ['second', 'once', 'object', 'second', 'object']);
      client.onmessage = null;
      assert.equal(client.onmessage, null);
    });

    it('reports an error event and wasClean false on a failed connection', async () => {
      const ws = new WebSocket('ws://127.0.0.1:1/');
      const events: string[] = [];
      ws.onerror = (event) =>
        events.push(`error ${(event as unknown as { message: string }).message !== ''}`);
      const closed = new Promise<{ code: number; wasClean: boolean }>((resolve) => {
        ws.onclose = (event) => resolve(event as never);
      });
      const { code, wasClean } = await within(closed, 'close');
      assert.deepEqual(events, ['error true']);
      assert.equal(code, 1006);
      assert.equal(wasClean, false);
    });
  });

  describe('createWebSocketStream', () => {
    it('writes messages, reads messages and closes with 1000 when ended', async (t) => {
      const { server, client } = await connectPair(t);
      const duplex = createWebSocketStream(client);
      server.on('message', (data) =>
        server.send(Buffer.concat([Buffer.from('echo:'), data as Buffer])),
      );
      duplex.write('one');
      const [chunk] = await next<[Buffer]>(duplex, 'data');
      assert.equal(chunk.toString(), 'echo:one');
      const serverClosed = nextClose(server);
      const duplexClosed = new Promise((resolve) => duplex.on('close', resolve));
      duplex.end();
      assert.equal((await serverClosed).code, 1000);
      await within(duplexClosed, 'duplex close', WAIT);
    });

    it('pauses the WebSocket when the readable side is full', async (t) => {
      const { server, client } = await connectPair(t);
      const duplex = createWebSocketStream(client, { readableHighWaterMark: 16 });
      for (let i = 0; i < 20; i++) server.send(Buffer.alloc(64, i));
      await until(() => client.isPaused, 'the client paused');
      let total = 0;
      duplex.on('data', (chunk: Buffer) => {
        total += chunk.length;
      });
      await until(() => total === 20 * 64, 'all data read after resuming');
      assert.equal(client.isPaused, false);
    });
  });
});
