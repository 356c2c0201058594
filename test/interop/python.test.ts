/**
 * Interop with python-websockets (Debian's python3-websockets 10.4, run by /usr/bin/python3),
 * a peer we did not write, in both pairings: python client → tsws server and tsws client →
 * python server. The peers are test/interop/peers/{server,client}.py, driven over JSON lines.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  type ClientOptions,
  type ServerOptions,
  WebSocketServer as TswsServer,
  WebSocket as TswsWebSocket,
} from '../../src/index.js';
import {
  assertSameBytes,
  binaryPayload,
  type CloseInfo,
  delay,
  type Endpoint,
  EVENT_TIMEOUT,
  MiB,
  Recorder,
  SIZES,
  sha256,
  textPayload,
  withTimeout,
} from './helpers.js';
import {
  PYTHON,
  type PyConfig,
  type PyEvent,
  PythonPeer,
  requirePythonWebsockets,
} from './python-peer.js';

type Pairing = 'python client → tsws server' | 'tsws client → python server';
const PAIRINGS: Pairing[] = ['python client → tsws server', 'tsws client → python server'];

/** No compression (deflate.test.ts has it on at both ends), no size limit, no keepalive pings. */
const BASE: PyConfig = {
  compression: 'none',
  max_size: null,
  ping_interval: null,
};
/** The python server's subprotocols, in its order of preference. */
const PY_SERVER_PROTOCOLS = ['chat.v1', 'chat.v2'];

interface PairOptions {
  /** Settings of the python side (its server process, or its `connect` call). */
  py?: PyConfig;
  /** Settings of the tsws side (its server, or its client). */
  tsws?: ServerOptions & ClientOptions;
  /** Subprotocols the tsws client offers. */
  protocols?: string[];
  /** A python process of its own (to kill it), instead of the shared one. */
  ownProcess?: boolean;
}

interface Pair {
  /** The tsws end. */
  socket: TswsWebSocket;
  rec: Recorder;
  /** The python end: its process and the connection's id there. */
  py: PythonPeer;
  id: string;
  open: PyEvent;
  dispose(): Promise<void>;
}

let pythonClient: PythonPeer | undefined;
const pythonServers = new Map<string, Promise<PythonPeer>>();
const ownProcesses = new Set<PythonPeer>();
let counter = 0;

function pythonServer(config: PyConfig): Promise<PythonPeer> {
  const full = { subprotocols: PY_SERVER_PROTOCOLS, ...BASE, ...config };
  const key = JSON.stringify(full);
  let server = pythonServers.get(key);
  if (server === undefined) {
    server = PythonPeer.start('server.py', full);
    pythonServers.set(key, server);
  }
  return server;
}

async function openPair(pairing: Pairing, options: PairOptions = {}): Promise<Pair> {
  const id = `/c${++counter}`;
  const py = { ...BASE, ...options.py };
  let stopServer: (() => Promise<void>) | undefined;
  let socket: TswsWebSocket | undefined;
  let peer: PythonPeer | undefined;
  let rec: Recorder;
  let open: PyEvent;
  try {
    if (pairing === 'python client → tsws server') {
      const server = new TswsServer({ port: 0, host: '127.0.0.1', ...options.tsws });
      stopServer = () =>
        withTimeout(
          new Promise<void>((resolve) => server.close(() => resolve())),
          EVENT_TIMEOUT,
          'the tsws server to stop',
        );
      const connection = new Promise<TswsWebSocket>((resolve) => server.on('connection', resolve));
      await withTimeout(
        new Promise((resolve) => server.once('listening', () => resolve(undefined))),
        EVENT_TIMEOUT,
        'tsws server listening',
      );
      const port = (server.address() as AddressInfo).port;
      peer = options.ownProcess ? await PythonPeer.start('client.py') : pythonClient!;
      if (options.ownProcess) ownProcesses.add(peer);
      const stopWatching = new AbortController();
      const connectError = peer.watch(
        (e) => e.ev === 'error' && e.op === 'connect' && e.id === id,
        stopWatching.signal,
      );
      peer.send({ op: 'connect', id, url: `ws://127.0.0.1:${port}${id}`, ...py });
      socket = await Promise.race([
        withTimeout(connection, EVENT_TIMEOUT, `tsws connection from python ${id}`),
        connectError.then((e) => Promise.reject(new Error(`python connect failed: ${e.error}`))),
      ]).finally(() => stopWatching.abort());
    } else {
      peer = options.ownProcess
        ? await PythonPeer.start('server.py', { subprotocols: PY_SERVER_PROTOCOLS, ...py })
        : await pythonServer(options.py ?? {});
      if (options.ownProcess) ownProcesses.add(peer);
      socket = new TswsWebSocket(
        `ws://127.0.0.1:${peer.port}${id}`,
        options.protocols ?? [],
        options.tsws ?? {},
      );
    }
    const role = pairing.startsWith('tsws') ? 'client' : 'server';
    rec = new Recorder(`tsws ${role}`, socket as Endpoint);
    socket.on('error', () => {}); // recorded by rec
    if (role === 'client') await rec.open();
    open = await peer.opened(id);
  } catch (error) {
    socket?.terminate();
    if (peer !== undefined && ownProcesses.delete(peer)) await peer.stop();
    await stopServer?.();
    throw error;
  }
  const [tsws, python] = [socket, peer];
  return {
    socket: tsws,
    rec,
    py: python,
    id,
    open,
    async dispose() {
      // Whatever failed, stop everything this pair started (a listening server keeps Node up).
      try {
        if (tsws.readyState !== TswsWebSocket.CLOSED) tsws.terminate();
        await rec.close();
        if (!options.ownProcess) await python.closed(id);
      } finally {
        if (ownProcesses.delete(python)) await python.stop();
        await stopServer?.();
      }
    },
  };
}

/** Asserts a python `message` event describes exactly `expected`. */
function assertPyMessage(event: PyEvent, type: 'text' | 'binary', expected: Buffer): void {
  assert.equal(event.type, type, 'message type at python');
  assert.equal(event.len, expected.length, 'message length at python');
  if (event.b64 !== undefined) {
    assertSameBytes(Buffer.from(event.b64, 'base64'), expected, 'message at python');
  }
  assert.equal(event.sha256, sha256(expected), 'message digest at python');
}

const b64 = (data: Buffer | string) => Buffer.from(data).toString('base64');

// A test of its own, so a missing package shows as a plain failure, not only as cancelled tests.
it(`${PYTHON} has the websockets package (Debian: python3-websockets)`, () => {
  const version = requirePythonWebsockets();
  assert.match(version, /^\d+\./, `websockets version: ${version}`);
});

describe('python-websockets interop', { timeout: 60_000 }, () => {
  before(async () => {
    // Fails the whole suite with instructions if /usr/bin/python3 has no websockets package.
    requirePythonWebsockets();
    pythonClient = await PythonPeer.start('client.py');
    await pythonServer({}); // the shared server, ready before the first test
  });

  after(async () => {
    const peers = [pythonClient, ...ownProcesses];
    for (const server of pythonServers.values()) peers.push(await server.catch(() => undefined));
    await Promise.all(peers.map((peer) => peer?.stop()));
  });

  for (const pairing of PAIRINGS) {
    const pyRole = pairing.startsWith('python client') ? 'python client' : 'python server';
    const tswsRole = pyRole === 'python client' ? 'tsws server' : 'tsws client';

    describe(pairing, () => {
      describe('messages on one connection', () => {
        let pair: Pair;
        before(async () => {
          pair = await openPair(pairing);
        });
        after(() => pair.dispose());

        it('no extension is negotiated; no subprotocol', () => {
          assert.deepEqual(pair.open.extensions, []);
          assert.equal(pair.open.response_extensions, null);
          assert.equal(pair.open.subprotocol, null);
          assert.equal(pair.socket.extensions, '');
          assert.equal(pair.socket.protocol, '');
        });

        for (const size of SIZES) {
          it(`text of ${size} B, tsws → python`, async () => {
            const text = textPayload(size);
            pair.socket.send(text);
            assertPyMessage(await pair.py.nextMessage(pair.id), 'text', Buffer.from(text));
          });
          it(`binary of ${size} B, tsws → python`, async () => {
            const bytes = binaryPayload(size, size % 251);
            pair.socket.send(bytes);
            assertPyMessage(await pair.py.nextMessage(pair.id), 'binary', bytes);
          });
          it(`text of ${size} B, python → tsws`, async () => {
            const [message] = await Promise.all([
              pair.rec.nextMessage(),
              pair.py.call({ op: 'send', id: pair.id, type: 'text', size }),
            ]);
            assert.equal(message.isBinary, false, 'tsws got a binary message');
            assertSameBytes(message.data, Buffer.from(textPayload(size)), 'text at tsws');
          });
          it(`binary of ${size} B, python → tsws`, async () => {
            const seed = size % 251;
            const [message] = await Promise.all([
              pair.rec.nextMessage(),
              pair.py.call({ op: 'send', id: pair.id, type: 'binary', size, seed }),
            ]);
            assert.equal(message.isBinary, true, 'tsws got a text message');
            assertSameBytes(message.data, binaryPayload(size, seed), 'binary at tsws');
          });
        }

        it('fragmented text split inside UTF-8 characters, tsws → python', async () => {
          const whole = Buffer.from('héllo wörld ✓ 🙂');
          const cuts = [0, 2, 3, 9, 15, 19, whole.length];
          for (let i = 0; i < cuts.length - 1; i++) {
            const fin = i === cuts.length - 2;
            pair.socket.send(whole.subarray(cuts[i], cuts[i + 1]), { binary: false, fin });
          }
          assertPyMessage(await pair.py.nextMessage(pair.id), 'text', whole);
        });

        it('fragmented binary with an empty fragment and a ping in between, tsws → python', async () => {
          const whole = binaryPayload(70_000, 3);
          pair.socket.send(whole.subarray(0, 1000), { binary: true, fin: false });
          pair.socket.send(Buffer.alloc(0), { binary: true, fin: false });
          pair.socket.ping('between fragments');
          pair.socket.send(whole.subarray(1000), { binary: true, fin: true });
          assertPyMessage(await pair.py.nextMessage(pair.id), 'binary', whole);
          await pair.rec.pong(Buffer.from('between fragments'));
        });

        it('fragmented text and binary, python → tsws', async () => {
          const parts = ['hé', 'llo ', '', 'wörld ✓ 🙂'];
          const [text] = await Promise.all([
            pair.rec.nextMessage(),
            pair.py.call({ op: 'fragments', id: pair.id, type: 'text', parts: parts.map(b64) }),
          ]);
          assert.equal(text.isBinary, false);
          assert.equal(text.data.toString(), parts.join(''));
          const whole = binaryPayload(70_000, 5);
          const binaryParts = [whole.subarray(0, 10), Buffer.alloc(0), whole.subarray(10)];
          const [binary] = await Promise.all([
            pair.rec.nextMessage(),
            pair.py.call({
              op: 'fragments',
              id: pair.id,
              type: 'binary',
              parts: binaryParts.map(b64),
            }),
          ]);
          assert.equal(binary.isBinary, true);
          assertSameBytes(binary.data, whole, 'reassembled at tsws');
        });

        it('2000 messages keep their order and types, tsws → python', async () => {
          for (let i = 0; i < 2000; i++) {
            pair.socket.send(i % 2 === 0 ? `#${i}` : Buffer.from(`#${i}`));
          }
          const events = await pair.py.nextMessages(pair.id, 2000);
          events.forEach((e, i) => {
            assert.equal(Buffer.from(e.b64!, 'base64').toString(), `#${i}`, `message ${i}`);
            assert.equal(e.type, i % 2 === 0 ? 'text' : 'binary', `type of message ${i}`);
          });
        });

        it('2000 messages keep their order and types, python → tsws', async () => {
          const [messages] = await Promise.all([
            pair.rec.nextMessages(2000),
            pair.py.call({ op: 'burst', id: pair.id, count: 2000 }),
          ]);
          messages.forEach((m, i) => {
            assert.equal(m.data.toString(), `#${i}`, `message ${i}`);
            assert.equal(m.isBinary, i % 2 === 1, `type of message ${i}`);
          });
        });

        for (const payload of [Buffer.alloc(0), Buffer.from('ping ✓'), binaryPayload(125, 9)]) {
          it(`tsws ping with ${payload.length} B: python answers with the same payload`, async () => {
            pair.socket.ping(payload);
            assert.ok((await pair.rec.pong(payload)).equals(payload));
          });
          it(`python ping() with ${payload.length} B: tsws answers (ping() resolves)`, async () => {
            // websockets resolves the waiter only for a pong carrying this ping's payload.
            const done = await pair.py.call({ op: 'ping', id: pair.id, b64: b64(payload) });
            assert.equal(typeof done.latency, 'number');
            assert.ok((await pair.rec.ping(payload)).equals(payload));
          });
        }
      });

      describe('closing', () => {
        for (const [code, reason] of [
          [1000, 'normal'],
          [1001, 'going away'],
          [4000, 'custom ✓ reason'],
        ] as const) {
          it(`${tswsRole} close(${code}, '${reason}'): both sides report ${code} and the reason`, async () => {
            const pair = await openPair(pairing);
            try {
              pair.socket.close(code, reason);
              const py = await pair.py.closed(pair.id);
              assert.deepEqual({ code: py.code, reason: py.reason }, { code, reason }, pyRole);
              assert.deepEqual(await pair.rec.close(), { code, reason }, tswsRole);
            } finally {
              await pair.dispose();
            }
          });

          describe(`${pyRole} close(${code}, '${reason}')`, () => {
            let atTsws: CloseInfo | undefined;
            let atPython: PyEvent | undefined;
            before(async () => {
              const pair = await openPair(pairing);
              try {
                await pair.py.call({ op: 'close', id: pair.id, code, reason });
                atTsws = await pair.rec.close();
                atPython = await pair.py.closed(pair.id);
              } finally {
                await pair.dispose();
              }
            });
            it(`${tswsRole} reports ${code} and the reason`, () => {
              assert.deepEqual(atTsws, { code, reason });
            });
            it(`${pyRole} reports ${code}`, () => {
              assert.equal(atPython?.code, code);
            });
            it(`${pyRole} reports the reason (echoed by ${tswsRole})`, () => {
              assert.equal(
                atPython?.reason,
                reason,
                `close_reason at ${pyRole}: websockets reports the reason of the close frame it ` +
                  `received, i.e. the one ${tswsRole} echoed`,
              );
            });
          });
        }

        it(`${tswsRole} close() without a code: 1005 on both sides`, async () => {
          const pair = await openPair(pairing);
          try {
            pair.socket.close();
            const py = await pair.py.closed(pair.id);
            assert.deepEqual({ code: py.code, reason: py.reason }, { code: 1005, reason: '' });
            assert.deepEqual(await pair.rec.close(), { code: 1005, reason: '' });
          } finally {
            await pair.dispose();
          }
        });

        it(`${pyRole} sends an empty close frame: 1005 on both sides`, async () => {
          const pair = await openPair(pairing);
          try {
            await pair.py.call({ op: 'close', id: pair.id });
            assert.deepEqual(await pair.rec.close(), { code: 1005, reason: '' });
            const py = await pair.py.closed(pair.id);
            assert.deepEqual({ code: py.code, reason: py.reason }, { code: 1005, reason: '' });
          } finally {
            await pair.dispose();
          }
        });

        it(`${tswsRole} terminate(): python sees ConnectionClosedError 1006`, async () => {
          const pair = await openPair(pairing);
          try {
            pair.socket.terminate();
            const py = await pair.py.closed(pair.id);
            assert.equal(py.code, 1006);
            assert.equal(py.exception, 'ConnectionClosedError');
            assert.deepEqual(await pair.rec.close(), { code: 1006, reason: '' });
          } finally {
            await pair.dispose();
          }
        });

        it(`${pyRole} process killed: tsws reports 1006`, async () => {
          const pair = await openPair(pairing, { ownProcess: true });
          try {
            pair.py.kill();
            assert.deepEqual(await pair.rec.close(), { code: 1006, reason: '' });
          } finally {
            await pair.dispose();
          }
        });

        it(`${pyRole} aborts its TCP connection: tsws reports 1006`, async () => {
          const pair = await openPair(pairing);
          try {
            await pair.py.call({ op: 'abort', id: pair.id });
            assert.deepEqual(await pair.rec.close(), { code: 1006, reason: '' });
          } finally {
            await pair.dispose();
          }
        });

        it(`${tswsRole} sends more than python's max_size: 1009 at tsws`, async () => {
          const pair = await openPair(pairing, { py: { max_size: 1000 } });
          try {
            pair.socket.send(binaryPayload(1001));
            assert.equal((await pair.rec.close()).code, 1009, `close code at ${tswsRole}`);
            const py = await pair.py.closed(pair.id);
            assert.equal(py.exception, 'ConnectionClosedError');
            // websockets stops reading when it fails the connection, so it never sees the
            // echo and reports 1006 for itself (as ws does); what it sent is what tsws saw.
            assert.ok([1006, 1009].includes(py.code!), `python close_code ${py.code}`);
          } finally {
            await pair.dispose();
          }
        });

        it(`${pyRole} sends more than tsws's maxPayload: 1009 on both sides`, async () => {
          const pair = await openPair(pairing, { tsws: { maxPayload: 1000 } });
          try {
            pair.py.send({ op: 'send', id: pair.id, type: 'binary', size: 1001 });
            assert.equal((await pair.rec.close()).code, 1009, `close code at ${tswsRole}`);
            const py = await pair.py.closed(pair.id);
            assert.equal(py.code, 1009, `close code at ${pyRole}`);
            assert.equal(py.exception, 'ConnectionClosedError');
            assert.equal(pair.rec.messages.length, 0, 'the big message was delivered');
          } finally {
            await pair.dispose();
          }
        });

        it(`${tswsRole} sends invalid UTF-8 text: 1007 at tsws`, async () => {
          const pair = await openPair(pairing);
          try {
            pair.socket.send(Buffer.from([0x68, 0xc3, 0x28]), { binary: false });
            assert.equal((await pair.rec.close()).code, 1007, `close code at ${tswsRole}`);
            assert.equal((await pair.py.closed(pair.id)).exception, 'ConnectionClosedError');
          } finally {
            await pair.dispose();
          }
        });

        it(`${pyRole} sends invalid UTF-8 text: 1007 on both sides`, async () => {
          const pair = await openPair(pairing);
          try {
            const frame = {
              op: 'raw_frame',
              id: pair.id,
              opcode: 1,
              b64: b64(Buffer.from([0x68, 0xc3, 0x28])),
            };
            await pair.py.call(frame);
            assert.equal((await pair.rec.close()).code, 1007, `close code at ${tswsRole}`);
            assert.equal((await pair.py.closed(pair.id)).code, 1007, `close code at ${pyRole}`);
            assert.equal(pair.rec.messages.length, 0, 'the invalid message was delivered');
          } finally {
            await pair.dispose();
          }
        });
      });

      describe('subprotocols', () => {
        const cases: [string, PairOptions, string][] =
          pyRole === 'python client'
            ? [
                ['python offers none: none on both sides', {}, ''],
                [
                  "python offers two: tsws's default takes the first",
                  { py: { subprotocols: ['chat.v3', 'chat.v1'] } },
                  'chat.v3',
                ],
                [
                  'python offers two: tsws handleProtocols picks the second',
                  {
                    py: { subprotocols: ['chat.v3', 'chat.v1'] },
                    tsws: { handleProtocols: (set) => (set.has('chat.v1') ? 'chat.v1' : false) },
                  },
                  'chat.v1',
                ],
              ]
            : [
                ['tsws offers none: none on both sides', {}, ''],
                [
                  'tsws offers chat.v3 and chat.v1: python picks the one it supports',
                  { protocols: ['chat.v3', 'chat.v1'] },
                  'chat.v1',
                ],
                ['tsws offers chat.v2', { protocols: ['chat.v2'] }, 'chat.v2'],
              ];
        for (const [title, options, expected] of cases) {
          it(title, async () => {
            const pair = await openPair(pairing, options);
            try {
              assert.equal(pair.socket.protocol, expected, 'tsws protocol');
              assert.equal(
                pair.open.subprotocol,
                expected === '' ? null : expected,
                'python subprotocol',
              );
              pair.socket.send('over the subprotocol');
              const event = await pair.py.nextMessage(pair.id);
              assertPyMessage(event, 'text', Buffer.from('over the subprotocol'));
            } finally {
              await pair.dispose();
            }
          });
        }
      });

      describe("python's default compression (permessage-deflate)", () => {
        it(
          pyRole === 'python client'
            ? 'python offers it; the tsws server declines; messages flow'
            : 'the tsws client offers it, the python server accepts it; messages flow compressed',
          async () => {
            const pair = await openPair(pairing, { py: { compression: 'default' } });
            try {
              assert.match(pair.open.request_extensions ?? '', /permessage-deflate/);
              if (pyRole === 'python client') {
                // The tsws server declines by default.
                assert.equal(pair.open.response_extensions, null, 'an extension was accepted');
                assert.deepEqual(pair.open.extensions, []);
                assert.equal(pair.socket.extensions, '');
              } else {
                assert.match(pair.open.response_extensions ?? '', /permessage-deflate/);
                assert.match(pair.socket.extensions, /^permessage-deflate/);
              }
              const big = binaryPayload(MiB, 1);
              pair.socket.send(big);
              assertPyMessage(await pair.py.nextMessage(pair.id), 'binary', big);
              const [message] = await Promise.all([
                pair.rec.nextMessage(),
                pair.py.call({ op: 'send', id: pair.id, type: 'text', size: 100_000 }),
              ]);
              assertSameBytes(message.data, Buffer.from(textPayload(100_000)), 'text at tsws');
            } finally {
              await pair.dispose();
            }
          },
        );
      });

      describe('keepalive', () => {
        it(`python pings every 0.2 s: tsws answers, the connection stays open`, async () => {
          const pair = await openPair(pairing, {
            py: { ping_interval: 0.2, ping_timeout: 0.5 },
            tsws: { heartbeat: false },
          });
          try {
            await delay(1300);
            assert.ok(pair.rec.pings.length >= 3, `tsws saw ${pair.rec.pings.length} pings`);
            assert.equal(pair.rec.closed, undefined, 'the connection closed');
            const status = await pair.py.call({ op: 'status', id: pair.id });
            assert.equal(status.open, true, 'python sees the connection open');
            assert.ok(status.latency! > 0, 'python measured the latency of a pong');
            pair.socket.send('still here');
            assertPyMessage(await pair.py.nextMessage(pair.id), 'text', Buffer.from('still here'));
          } finally {
            await pair.dispose();
          }
        });

        it('tsws heartbeat { interval: 100, maxMissed: 2 }: python answers, the connection stays up', async () => {
          const pair = await openPair(pairing, {
            tsws: { heartbeat: { interval: 100, maxMissed: 2 } },
          });
          try {
            await delay(800);
            assert.ok(pair.rec.pongs.length >= 3, `tsws got ${pair.rec.pongs.length} pongs`);
            assert.equal(pair.rec.closed, undefined, 'the heartbeat closed the connection');
            assert.equal(typeof pair.socket.rtt, 'number');
            pair.socket.send('still here');
            assertPyMessage(await pair.py.nextMessage(pair.id), 'text', Buffer.from('still here'));
          } finally {
            await pair.dispose();
          }
        });

        it('tsws heartbeat terminates the connection once python stops reading (control)', async () => {
          const pair = await openPair(pairing, {
            tsws: { heartbeat: { interval: 100, maxMissed: 2 } },
          });
          try {
            await pair.py.call({ op: 'pause_reading', id: pair.id });
            const closed = await pair.rec.close(2000);
            assert.equal(closed.code, 1006);
            await pair.py.call({ op: 'resume_reading', id: pair.id });
            assert.equal((await pair.py.closed(pair.id)).code, 1006);
          } finally {
            await pair.dispose();
          }
        });
      });
    });
  }
});
