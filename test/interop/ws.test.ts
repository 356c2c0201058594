/**
 * Interop with the npm `ws` package (8.x), a peer we did not write, in both pairings:
 * ws client → tsws server and tsws client → ws server. In each pairing data, pings and closes
 * go both ways (client → server and server → client).
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer as WSServer, WebSocket as WSWebSocket } from 'ws';
import { WebSocketServer as TswsServer, WebSocket as TswsWebSocket } from '../../src/index.js';
import {
  assertSameBytes,
  binaryPayload,
  type CloseInfo,
  type Endpoint,
  EVENT_TIMEOUT,
  MiB,
  Recorder,
  SIZES,
  textPayload,
  withTimeout,
} from './helpers.js';

type Impl = 'ws' | 'tsws';
type Role = 'client' | 'server';

interface Side {
  impl: Impl;
  role: Role;
  socket: Endpoint;
  rec: Recorder;
}

interface Pair {
  client: Side;
  server: Side;
  /** `server.close()` of the server's implementation. */
  stopServer(): Promise<void>;
  dispose(): Promise<void>;
}

interface PairOptions {
  protocols?: string[];
  handleProtocols?: (protocols: Set<string>) => string | false;
  clientMaxPayload?: number;
  serverMaxPayload?: number;
  /** Let the ws side offer / accept permessage-deflate (tsws keeps its defaults; deflate.test.ts has both ends on). */
  deflate?: boolean;
}

interface Pairing {
  name: string;
  client: Impl;
  server: Impl;
}

const PAIRINGS: Pairing[] = [
  { name: 'ws client → tsws server', client: 'ws', server: 'tsws' },
  { name: 'tsws client → ws server', client: 'tsws', server: 'ws' },
];

const side = (impl: Impl, role: Role, socket: Endpoint): Side => ({
  impl,
  role,
  socket,
  rec: new Recorder(`${impl} ${role}`, socket),
});

/** Starts a server of one implementation, connects a client of the other, waits for both ends. */
async function openPair(pairing: Pairing, options: PairOptions = {}): Promise<Pair> {
  let connected!: (side: Side) => void;
  const serverSide = new Promise<Side>((resolve) => {
    connected = resolve;
  });
  const common = {
    port: 0,
    host: '127.0.0.1',
    maxPayload: options.serverMaxPayload,
    handleProtocols: options.handleProtocols,
  };
  let port: number;
  let closeServer: () => Promise<void>;
  if (pairing.server === 'tsws') {
    const server = new TswsServer(common);
    server.on('connection', (socket) => connected(side('tsws', 'server', socket as Endpoint)));
    await withTimeout(
      new Promise((resolve) => server.once('listening', () => resolve(undefined))),
      EVENT_TIMEOUT,
      'tsws server listening',
    );
    port = (server.address() as AddressInfo).port;
    closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  } else {
    const server = new WSServer({ ...common, perMessageDeflate: options.deflate ?? false });
    server.on('connection', (socket) => connected(side('ws', 'server', socket as Endpoint)));
    await withTimeout(
      new Promise((resolve) => server.once('listening', () => resolve(undefined))),
      EVENT_TIMEOUT,
      'ws server listening',
    );
    port = (server.address() as AddressInfo).port;
    closeServer = () => new Promise<void>((resolve) => server.close(() => resolve()));
  }
  const url = `ws://127.0.0.1:${port}/interop`;
  const protocols = options.protocols ?? [];
  const socket =
    pairing.client === 'tsws'
      ? new TswsWebSocket(url, protocols, { maxPayload: options.clientMaxPayload })
      : new WSWebSocket(url, protocols, {
          maxPayload: options.clientMaxPayload,
          perMessageDeflate: options.deflate ?? true, // ws's default: offer permessage-deflate
        });
  const client = side(pairing.client, 'client', socket as Endpoint);
  let server: Side;
  try {
    await client.rec.open();
    server = await withTimeout(serverSide, EVENT_TIMEOUT, 'the server-side connection');
  } catch (error) {
    socket.terminate();
    await closeServer();
    throw error;
  }
  return {
    client,
    server,
    stopServer: () => withTimeout(closeServer(), EVENT_TIMEOUT, 'server.close()'),
    async dispose() {
      try {
        for (const s of [client, server]) if (s.socket.readyState !== 3) s.socket.terminate();
        await Promise.all([client.rec.close(), server.rec.close()]);
      } finally {
        await withTimeout(closeServer(), EVENT_TIMEOUT, 'the server to stop');
      }
    },
  };
}

const name = (s: Side) => `${s.impl} ${s.role}`;

/**
 * After `detector` failed the connection with `code` because of what `sender` sent: the sender
 * reports the code (it got a close frame with it). The detector reports the code too if it is
 * tsws; ws stops reading once it fails a connection (receiverOnError removes its data
 * listener), never sees the echo, and reports 1006 for itself, which is ws's own behaviour.
 */
function assertFailureCodes(
  detector: Side,
  atDetector: CloseInfo,
  sender: Side,
  atSender: CloseInfo,
  code: number,
): void {
  assert.equal(atSender.code, code, `close code of ${name(sender)}, which broke the protocol`);
  const expected = detector.impl === 'tsws' ? code : 1006;
  assert.equal(atDetector.code, expected, `close code of ${name(detector)}, which detected it`);
}

/** Both directions inside one connection: [sender, receiver]. */
function directions(pair: () => Pair): [string, () => [Side, Side]][] {
  return [
    ['client → server', () => [pair().client, pair().server]],
    ['server → client', () => [pair().server, pair().client]],
  ];
}

for (const pairing of PAIRINGS) {
  describe(`ws interop: ${pairing.name}`, { timeout: 60_000 }, () => {
    describe('messages on one connection', () => {
      let pair: Pair;
      before(async () => {
        pair = await openPair(pairing);
      });
      after(() => pair.dispose());

      it('the ws side offers or accepts no extension the tsws side lacks', () => {
        assert.equal(pair.client.socket.extensions, '');
        assert.equal(pair.server.socket.extensions, '');
      });

      for (const [direction, ends] of directions(() => pair)) {
        for (const size of SIZES) {
          it(`text of ${size} B, ${direction}`, async () => {
            const [sender, receiver] = ends();
            const text = textPayload(size);
            sender.socket.send(text);
            const message = await receiver.rec.nextMessage();
            assert.equal(message.isBinary, false, `${name(receiver)} got a binary message`);
            assertSameBytes(message.data, Buffer.from(text), `text at ${name(receiver)}`);
          });
          it(`binary of ${size} B, ${direction}`, async () => {
            const [sender, receiver] = ends();
            const bytes = binaryPayload(size, size % 251);
            sender.socket.send(bytes);
            const message = await receiver.rec.nextMessage();
            assert.equal(message.isBinary, true, `${name(receiver)} got a text message`);
            assertSameBytes(message.data, bytes, `binary at ${name(receiver)}`);
          });
        }

        it(`fragmented text split inside UTF-8 characters, ${direction}`, async () => {
          const [sender, receiver] = ends();
          const whole = Buffer.from('héllo wörld ✓ 🙂');
          const cuts = [0, 2, 3, 9, 15, 19, whole.length]; // 2, 9, 15, 19 fall inside characters
          for (let i = 0; i < cuts.length - 1; i++) {
            const fin = i === cuts.length - 2;
            sender.socket.send(whole.subarray(cuts[i], cuts[i + 1]), { binary: false, fin });
          }
          const message = await receiver.rec.nextMessage();
          assert.equal(message.isBinary, false);
          assert.equal(message.data.toString(), 'héllo wörld ✓ 🙂');
        });

        it(`fragmented binary with an empty fragment and a ping in between, ${direction}`, async () => {
          const [sender, receiver] = ends();
          const whole = binaryPayload(70_000, 3);
          sender.socket.send(whole.subarray(0, 1000), { binary: true, fin: false });
          sender.socket.send(Buffer.alloc(0), { binary: true, fin: false });
          sender.socket.ping('between fragments');
          sender.socket.send(whole.subarray(1000), { binary: true, fin: true });
          const message = await receiver.rec.nextMessage();
          assert.equal(message.isBinary, true);
          assertSameBytes(message.data, whole, 'reassembled message');
          await receiver.rec.ping(Buffer.from('between fragments'));
          await sender.rec.pong(Buffer.from('between fragments'));
        });

        it(`2000 messages keep their order and types, ${direction}`, async () => {
          const [sender, receiver] = ends();
          for (let i = 0; i < 2000; i++) {
            if (i % 2 === 0) sender.socket.send(`#${i}`);
            else sender.socket.send(Buffer.from(`#${i}`));
          }
          const messages = await receiver.rec.nextMessages(2000);
          messages.forEach((m, i) => {
            assert.equal(m.data.toString(), `#${i}`, `message ${i}`);
            assert.equal(m.isBinary, i % 2 === 1, `type of message ${i}`);
          });
        });

        for (const payload of [Buffer.alloc(0), Buffer.from('ping ✓'), binaryPayload(125, 9)]) {
          it(`ping with ${payload.length} B payload is answered by a pong with it, ${direction}`, async () => {
            const [sender, receiver] = ends();
            sender.socket.ping(payload);
            assert.ok((await receiver.rec.ping(payload)).equals(payload));
            assert.ok((await sender.rec.pong(payload)).equals(payload));
          });
        }
      }
    });

    describe('closing', () => {
      const initiators: Role[] = ['client', 'server'];
      for (const by of initiators) {
        const other: Role = by === 'client' ? 'server' : 'client';
        for (const [code, reason] of [
          [1000, 'normal'],
          [1001, 'going away'],
          [4000, 'custom ✓ reason'],
        ] as const) {
          describe(`close(${code}, '${reason}') by the ${by}`, () => {
            const events: { initiator?: CloseInfo; receiver?: CloseInfo } = {};
            let pair: Pair;
            before(async () => {
              pair = await openPair(pairing);
              try {
                pair[by].socket.close(code, reason);
                [events.initiator, events.receiver] = await Promise.all([
                  pair[by].rec.close(),
                  pair[other].rec.close(),
                ]);
              } finally {
                await pair.dispose();
              }
            });
            it(`the ${other} reports ${code} and the reason`, () => {
              assert.deepEqual(
                events.receiver,
                { code, reason },
                `close event of ${name(pair[other])}`,
              );
            });
            it(`the ${by} reports ${code}`, () => {
              assert.equal(events.initiator?.code, code, `close code of ${name(pair[by])}`);
            });
            it(`the ${by} reports the reason (echoed by the ${other})`, () => {
              assert.equal(
                events.initiator?.reason,
                reason,
                `close reason of the initiator ${name(pair[by])}: ws's close event reports the ` +
                  `reason of the close frame it received, i.e. the one ${name(pair[other])} echoed`,
              );
            });
          });
        }

        it(`close() without a code by the ${by}: 1005 on both sides`, async () => {
          const pair = await openPair(pairing);
          try {
            pair[by].socket.close();
            const expected: CloseInfo = { code: 1005, reason: '' };
            assert.deepEqual(await pair[other].rec.close(), expected, name(pair[other]));
            assert.deepEqual(await pair[by].rec.close(), expected, name(pair[by]));
          } finally {
            await pair.dispose();
          }
        });

        it(`terminate() by the ${by}: 1006 on both sides`, async () => {
          const pair = await openPair(pairing);
          try {
            pair[by].socket.terminate();
            const expected: CloseInfo = { code: 1006, reason: '' };
            assert.deepEqual(await pair[other].rec.close(), expected, name(pair[other]));
            assert.deepEqual(await pair[by].rec.close(), expected, name(pair[by]));
          } finally {
            await pair.dispose();
          }
        });

        const limit = by === 'client' ? 'serverMaxPayload' : 'clientMaxPayload';
        it(`a message over the ${other}'s maxPayload sent by the ${by}: 1009`, async () => {
          const pair = await openPair(pairing, { [limit]: 1000 });
          try {
            pair[by].socket.send(binaryPayload(1001));
            const [atReceiver, atSender] = await Promise.all([
              pair[other].rec.close(),
              pair[by].rec.close(),
            ]);
            assertFailureCodes(pair[other], atReceiver, pair[by], atSender, 1009);
            assert.equal(pair[other].rec.messages.length, 0, 'the big message was delivered');
          } finally {
            await pair.dispose();
          }
        });

        it(`invalid UTF-8 in a text message sent by the ${by}: 1007`, async () => {
          const pair = await openPair(pairing);
          try {
            pair[by].socket.send(Buffer.from([0x68, 0xc3, 0x28]), { binary: false });
            const [atReceiver, atSender] = await Promise.all([
              pair[other].rec.close(),
              pair[by].rec.close(),
            ]);
            assertFailureCodes(pair[other], atReceiver, pair[by], atSender, 1007);
          } finally {
            await pair.dispose();
          }
        });
      }

      if (pairing.server === 'tsws') {
        it('server.close() closes the ws client with 1001 and calls back', async () => {
          const pair = await openPair(pairing);
          try {
            await pair.stopServer();
            assert.deepEqual(await pair.client.rec.close(), { code: 1001, reason: '' });
            assert.equal((await pair.server.rec.close()).code, 1001);
          } finally {
            await pair.dispose();
          }
        });
      }
    });

    describe('subprotocols', () => {
      const cases: [string, PairOptions, string][] = [
        ['none offered: empty on both sides', {}, ''],
        ["the server's default: the first offer", { protocols: ['chat.v2', 'chat.v1'] }, 'chat.v2'],
        [
          'chosen by handleProtocols',
          {
            protocols: ['chat.v2', 'chat.v1'],
            handleProtocols: (set) => (set.has('chat.v1') ? 'chat.v1' : false),
          },
          'chat.v1',
        ],
      ];
      for (const [title, options, expected] of cases) {
        it(title, async () => {
          const pair = await openPair(pairing, options);
          try {
            assert.equal(pair.client.socket.protocol, expected, 'client protocol');
            assert.equal(pair.server.socket.protocol, expected, 'server protocol');
            pair.client.socket.send('over the subprotocol');
            assert.equal(
              (await pair.server.rec.nextMessage()).data.toString(),
              'over the subprotocol',
            );
          } finally {
            await pair.dispose();
          }
        });
      }
    });

    describe('permessage-deflate on the ws side', () => {
      // A tsws server declines by default; a tsws client offers it, as browsers do.
      const tswsClient = pairing.client !== 'ws';
      it(`ws ${tswsClient ? 'accepts it from the tsws client' : 'offers it, the tsws server declines'}, messages flow`, async () => {
        const pair = await openPair(pairing, { deflate: true });
        try {
          const expected = tswsClient ? /^permessage-deflate/ : /^$/;
          assert.match(String(pair.client.socket.extensions), expected);
          assert.match(String(pair.server.socket.extensions), expected);
          const big = binaryPayload(MiB, 1);
          pair.client.socket.send(big);
          pair.server.socket.send(textPayload(100_000));
          assertSameBytes((await pair.server.rec.nextMessage()).data, big, 'client → server');
          assert.equal((await pair.client.rec.nextMessage()).data.toString(), textPayload(100_000));
        } finally {
          await pair.dispose();
        }
      });
    });
  });
}
