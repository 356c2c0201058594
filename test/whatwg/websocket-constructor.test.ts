import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import type { WebSocket as NodeWebSocket } from '../../src/index.js';
import { next, startServer } from '../helpers/node-util.js';
import {
  firstEvent,
  nextEvent,
  openPair,
  rawWebSocketServer,
  throwsDOMException,
  types,
  WebSocket,
  whatwgClient,
} from '../helpers/whatwg-util.js';

describe('WebSocket constructor: URL (constructor steps 1-2: get a URL record)', () => {
  it('throws a TypeError when called with no argument (WebIDL: 1 argument required)', () => {
    assert.throws(() => Reflect.construct(WebSocket, []), TypeError);
  });

  it('step 2: a URL that does not parse throws a SyntaxError DOMException', () => {
    for (const url of [
      'not a url',
      'ws://[::1',
      'ws://exa mple.com/',
      '',
      'ws://127.0.0.1:99999/',
    ]) {
      throwsDOMException(() => new WebSocket(url), 'SyntaxError', JSON.stringify(url));
    }
  });

  it('step 2: a relative URL throws a SyntaxError (Node has no base URL)', () => {
    for (const url of ['/chat', 'chat', '//127.0.0.1/chat', '?x=1']) {
      throwsDOMException(() => new WebSocket(url), 'SyntaxError', JSON.stringify(url));
    }
  });

  it('step 3: schemes other than ws, wss, http and https throw a SyntaxError', () => {
    for (const url of [
      'ftp://127.0.0.1/',
      'file:///tmp/x',
      'data:text/plain,x',
      'javascript:alert(1)',
      'mailto:a@b.c',
      'wss+unix://x',
      'about:blank',
    ]) {
      throwsDOMException(() => new WebSocket(url), 'SyntaxError', url);
    }
  });

  it('step 4: a URL with a fragment, even an empty one, throws a SyntaxError', () => {
    for (const url of [
      'ws://127.0.0.1:1/#x',
      'ws://127.0.0.1:1/#',
      'ws://127.0.0.1:1#',
      'wss://127.0.0.1:1/path?q=1#frag',
      'http://127.0.0.1:1/#',
      'https://127.0.0.1:1/#x',
    ]) {
      throwsDOMException(() => new WebSocket(url), 'SyntaxError', url);
    }
  });

  it('step 2 (getting a URL record): http becomes ws in `url`, and the connection is made', async (t) => {
    const { port } = await startServer(t);
    const { ws, log } = whatwgClient(t, `http://127.0.0.1:${port}/room?x=1`);
    assert.equal(ws.url, `ws://127.0.0.1:${port}/room?x=1`);
    await nextEvent(ws, 'open');
    assert.deepEqual(types(log), ['open']);
    assert.equal(ws.url, `ws://127.0.0.1:${port}/room?x=1`);
  });

  it('step 2: https becomes wss in `url`', async (t) => {
    // Nothing listens with TLS here: the connection fails, which is not the point.
    const { port } = await startServer(t);
    const { ws, closed } = whatwgClient(t, `https://127.0.0.1:${port}/secure`);
    assert.equal(ws.url, `wss://127.0.0.1:${port}/secure`);
    ws.close();
    await closed();
  });

  it('`url` is the serialized URL record (a URL object is accepted; the path gets its /)', async (t) => {
    const { port } = await startServer(t);
    const { ws } = whatwgClient(t, new URL(`ws://127.0.0.1:${port}`));
    assert.equal(ws.url, `ws://127.0.0.1:${port}/`);
    await nextEvent(ws, 'open');
  });
});

describe('WebSocket constructor: protocols (constructor steps 3-4)', () => {
  it('step 5: a string is a list of one protocol, carried by the request', async (t) => {
    const { ws, req } = await openPair(t, {}, 'chat');
    assert.equal(req.headers['sec-websocket-protocol'], 'chat');
    assert.equal(ws.protocol, 'chat');
  });

  it('a list of protocols is carried by the request, in order; the server picks one', async (t) => {
    const { ws, req } = await openPair(t, {}, ['v2.chat', 'v1.chat']);
    assert.equal(req.headers['sec-websocket-protocol'], 'v2.chat, v1.chat');
    assert.equal(ws.protocol, 'v2.chat');
  });

  it('any iterable is a sequence<DOMString> (a Set)', async (t) => {
    const { req } = await openPair(t, {}, new Set(['a', 'b']) as unknown as string[]);
    assert.equal(req.headers['sec-websocket-protocol'], 'a, b');
  });

  it('no protocols (or an empty list) sends no Sec-WebSocket-Protocol header', async (t) => {
    const { req } = await openPair(t, {}, []);
    assert.equal(req.headers['sec-websocket-protocol'], undefined);
  });

  it('step 6: a protocol given twice throws a SyntaxError', () => {
    throwsDOMException(() => new WebSocket('ws://127.0.0.1:1/', ['a', 'b', 'a']), 'SyntaxError');
    throwsDOMException(() => new WebSocket('ws://127.0.0.1:1/', ['x', 'x']), 'SyntaxError');
  });

  it('step 6: a protocol that is not an RFC 6455 token throws a SyntaxError', () => {
    for (const protocol of [
      '',
      'a b',
      'a,b',
      'chat;v=1',
      'é',
      '(x)',
      'a\u0000',
      '"q"',
      'a/b',
      'a\t',
    ]) {
      throwsDOMException(
        () => new WebSocket('ws://127.0.0.1:1/', protocol),
        'SyntaxError',
        JSON.stringify(protocol),
      );
      throwsDOMException(
        () => new WebSocket('ws://127.0.0.1:1/', ['ok', protocol]),
        'SyntaxError',
        JSON.stringify(['ok', protocol]),
      );
    }
  });

  it('§2 opening handshake: protocols requested but none selected by the server fails the connection', async (t) => {
    const { url } = await startServer(t, { handleProtocols: () => false });
    const { ws, log, closed } = whatwgClient(t, url, ['chat']);
    const first = await firstEvent(ws, ['open', 'error']);
    assert.equal(first.type, 'error', 'the connection must fail, not open');
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.equal(ws.protocol, '');
  });

  it('RFC 6455 §4.1: a protocol the client did not offer fails the connection', async (t) => {
    const { url } = await rawWebSocketServer(t, () => {}, { protocol: 'other' });
    const { log, closed } = whatwgClient(t, url, ['chat']);
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.equal(event.code, 1006);
  });
});

describe('WebSocket constructor: Node-only options (third argument)', () => {
  it('`headers` reach the server', async (t) => {
    const { req } = await openPair(t, {}, [], { headers: { 'X-Tsws-Test': 'yes' } });
    assert.equal(req.headers['x-tsws-test'], 'yes');
  });

  it('an object as the second argument is a protocol list or a string, as in a browser: {} is "[object Object]", a SyntaxError', () => {
    // Options go in the third argument only: the second behaves exactly as the standard says.
    throwsDOMException(
      () => new WebSocket('ws://127.0.0.1:1/', { headers: {} } as unknown as string),
      'SyntaxError',
    );
    throwsDOMException(
      () => new WebSocket('ws://127.0.0.1:1/', {} as unknown as string),
      'SyntaxError',
    );
  });

  it('WebIDL converts both arguments before the steps run: a Symbol is a TypeError, even with a bad URL', () => {
    assert.throws(() => new WebSocket(Symbol('url') as unknown as string), TypeError);
    assert.throws(() => new WebSocket('not a url', Symbol('p') as unknown as string), TypeError);
    assert.throws(
      () => new WebSocket('not a url', ['ok', Symbol('p')] as unknown as string[]),
      TypeError,
    );
  });

  it('a third argument that is not an object is ignored, as a browser ignores it', async (t) => {
    const { ws } = await openPair(t, {}, [], 'not options' as never);
    assert.equal(ws.readyState, WebSocket.OPEN);
  });

  it('`maxPayload`: a larger message fails the connection; the server sees 1009, the page error then close 1006', async (t) => {
    const { ws, log, closed, server } = await openPair(t, {}, [], { maxPayload: 16 });
    const serverClose = next<[number, Buffer]>(server, 'close');
    server.send('x'.repeat(100));
    const event = await closed();
    const [code] = await serverClose;
    assert.equal(code, 1009, 'the close frame tsws sent');
    // WebSockets §4 "the WebSocket connection is closed": the UA failed the connection, so
    // error, then close with the code of the close frame received: none was read (RFC 6455
    // §7.1.7 stops reading), so 1006 and not clean.
    assert.deepEqual(types(log), ['open', 'error', 'close']);
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('`maxPayload`: messages up to the limit are delivered', async (t) => {
    const { ws, server } = await openPair(t, {}, [], { maxPayload: 16 });
    const message = nextEvent<MessageEvent>(ws, 'message');
    server.send('x'.repeat(16));
    assert.equal((await message).data, 'x'.repeat(16));
  });

  it('`handshakeTimeout`: a server that never answers fails the connection (error, close 1006)', async (t) => {
    const { url, requests } = await rawWebSocketServer(t, () => {}, { silent: true });
    const { ws, log, closed } = whatwgClient(t, url, [], { handshakeTimeout: 150 });
    await requests;
    assert.equal(ws.readyState, WebSocket.CONNECTING);
    const event = await closed();
    assert.deepEqual(types(log), ['error', 'close']);
    assert.equal(event.code, 1006);
    assert.equal(event.wasClean, false);
    assert.equal(ws.readyState, WebSocket.CLOSED);
  });

  it('`heartbeat`: the client pings the server', async (t) => {
    const { server } = await openPair(t, {}, [], { heartbeat: { interval: 30, maxMissed: 100 } });
    const [payload] = await next<[Buffer]>(server, 'ping');
    assert.ok(Buffer.isBuffer(payload));
  });

  it('`heartbeat`: a server that stops answering pings is dropped: close 1006, not clean, as a lost connection', async (t) => {
    // The raw server reads the pings and never answers.
    const { url } = await rawWebSocketServer(t, (peer) => {
      peer.socket.resume();
    });
    const { ws, log, closed } = whatwgClient(t, url, [], {
      heartbeat: { interval: 20, maxMissed: 2 },
    });
    await nextEvent(ws, 'open');
    const event = await closed();
    // Like a TCP connection that drops (Chromium fires no error then either).
    assert.deepEqual(types(log), ['open', 'close']);
    assert.deepEqual([event.code, event.wasClean, event.reason], [1006, false, '']);
  });

  it('no heartbeat by default: a browser does not ping', async (t) => {
    const { server } = await openPair(t);
    let pinged = false;
    server.on('ping', () => {
      pinged = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(pinged, false);
  });

  it('the server sees a normal RFC 6455 request (version 13, a key, no Origin unless asked)', async (t) => {
    const { wss, url } = await startServer(t);
    const connection = next<[NodeWebSocket, IncomingMessage]>(wss, 'connection');
    const { ws } = whatwgClient(t, url, [], { origin: 'https://example.com' });
    const [, req] = await connection;
    await nextEvent(ws, 'open');
    assert.equal(req.headers['sec-websocket-version'], '13');
    assert.match(req.headers['sec-websocket-key'] ?? '', /^[A-Za-z0-9+/]{22}==$/);
    assert.equal(req.headers.origin, 'https://example.com');
  });
});
