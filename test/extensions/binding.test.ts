// permessage-deflate through the Node binding (src/node/websocket.ts, server.ts, dial.ts): a tsws
// client and a tsws server, with a TCP tap between them that records every frame both ways, so
// that the tests check the wire (RSV1, window, context, tail) and not only what arrives.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { zlibLimiter } from '../../src/extensions/index.js';
import type { ClientOptions, ServerOptions, WebSocket } from '../../src/index.js';
import {
  deflateMessage,
  dialRaw,
  type EchoServer,
  Inbox,
  inflateMessage,
  KiB,
  messagesOf,
  openClient,
  PeerZlib,
  randomPayload,
  sleep,
  startDeflateServer,
  startTap,
  TAIL,
  type Tap,
  type TapConnection,
  textCorpus,
  type WireFrame,
  within,
} from '../helpers/deflate-wire.js';

interface Pair {
  server: EchoServer;
  tap: Tap;
  wire: TapConnection;
  client: WebSocket;
  /** The server's end of the connection. */
  remote: WebSocket;
  clientInbox: Inbox;
  serverInbox: Inbox;
  close(): Promise<void>;
}

/** A tsws server (no echo) and a tsws client through a tap; both inboxes attached from the start. */
async function openPair(
  serverOptions: Partial<ServerOptions> = {},
  clientOptions: ClientOptions = {},
): Promise<Pair> {
  const server = await startDeflateServer(serverOptions, false);
  const tap = await startTap(server.port);
  const remoteReady = new Promise<[WebSocket, Inbox]>((resolve) =>
    server.wss.once('connection', (ws) => resolve([ws, new Inbox(ws)])),
  );
  const client = await openClient(tap.url, clientOptions);
  const clientInbox = new Inbox(client);
  const [remote, serverInbox] = await within(remoteReady, 'the server-side connection');
  return {
    server,
    tap,
    wire: tap.connections[0]!,
    client,
    remote,
    clientInbox,
    serverInbox,
    async close() {
      client.terminate();
      tap.close();
      await server.close();
    },
  };
}

/** Waits until `log` holds `count` data frames and returns them. */
async function dataFrames(
  get: () => WireFrame[],
  count: number,
  what: string,
  ms = 5000,
): Promise<WireFrame[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const frames = get().filter((f) => f.opcode < 0x8);
    if (frames.length >= count) return frames;
    if (Date.now() > deadline) {
      throw new Error(`${what}: ${frames.length} data frames on the wire, want ${count}`);
    }
    await sleep(2);
  }
}

/** A message whose repeats are 1,500 bytes apart, beyond a 9-bit (512 B) or 10-bit (1 KiB) window. */
const farRepeats = (size: number, seed = 42) => Buffer.alloc(size, randomPayload(1500, seed));

type Direction = 'client → server' | 'server → client';
const DIRECTIONS: Direction[] = ['client → server', 'server → client'];

/** [sender, receiver's inbox, the frames the sender wrote]. */
function ends(p: Pair, d: Direction): [WebSocket, Inbox, () => WireFrame[]] {
  return d === 'client → server'
    ? [p.client, p.serverInbox, () => p.wire.up.frames]
    : [p.remote, p.clientInbox, () => p.wire.down.frames];
}

describe('permessage-deflate in the Node binding', () => {
  describe('the extensions attribute, on both ends', () => {
    const cases: [string, Partial<ServerOptions>, ClientOptions, string][] = [
      ['defaults', {}, {}, 'permessage-deflate'],
      [
        'the server drops its context',
        { perMessageDeflate: { serverNoContextTakeover: true } },
        {},
        'permessage-deflate; server_no_context_takeover',
      ],
      [
        'the server limits both directions',
        {
          perMessageDeflate: {
            clientNoContextTakeover: true,
            serverMaxWindowBits: 10,
            clientMaxWindowBits: 9,
          },
        },
        {},
        'permessage-deflate; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9',
      ],
      [
        'the client asks',
        {},
        {
          perMessageDeflate: {
            serverNoContextTakeover: true,
            serverMaxWindowBits: 11,
            clientMaxWindowBits: 12,
          },
        },
        'permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12',
      ],
      ['the server has compression off', { perMessageDeflate: false }, {}, ''],
      ['the client offers nothing', {}, { perMessageDeflate: false }, ''],
    ];
    for (const [title, serverOptions, clientOptions, expected] of cases) {
      it(`${title}: "${expected}"`, async () => {
        const p = await openPair(serverOptions, clientOptions);
        try {
          assert.equal(p.client.extensions, expected, 'client');
          assert.equal(p.remote.extensions, expected, 'server');
          const offered = /sec-websocket-extensions: ([^\r\n]*)/i.exec(p.wire.up.head)?.[1];
          if (clientOptions.perMessageDeflate === false) assert.equal(offered, undefined);
          else assert.match(offered ?? '', /^permessage-deflate/);
          const answered = /sec-websocket-extensions: ([^\r\n]*)/i.exec(p.wire.down.head)?.[1];
          assert.equal(answered ?? '', expected, 'the 101');
        } finally {
          await p.close();
        }
      });
    }
  });

  describe('on the wire', () => {
    for (const d of DIRECTIONS) {
      it(`threshold: below it no RSV1, from it on RSV1 (default 1024 and custom), ${d}`, async () => {
        for (const threshold of [undefined, 100, 0]) {
          const deflate = threshold === undefined ? true : { threshold };
          const p = await openPair({ perMessageDeflate: deflate }, { perMessageDeflate: deflate });
          try {
            const [sender, inbox, frames] = ends(p, d);
            const at = threshold ?? 1024;
            const sizes = [0, Math.max(at - 1, 0), at, at + 1, 5000].filter(
              (n, i, all) => all.indexOf(n) === i,
            );
            for (const size of sizes) sender.send(textCorpus(size, size).toString());
            const got = await inbox.take(sizes.length);
            const wire = await dataFrames(frames, sizes.length, d);
            sizes.forEach((size, i) => {
              assert.equal(got[i]!.data.toString(), textCorpus(size, size).toString());
              assert.equal(wire[i]!.rsv1, size >= at, `${size} B with threshold ${at}`);
            });
          } finally {
            await p.close();
          }
        }
      });

      it(`send(data, { compress: false }): no RSV1 whatever the size, ${d}`, async () => {
        const p = await openPair();
        try {
          const [sender, inbox, frames] = ends(p, d);
          const big = textCorpus(100 * KiB, 1);
          sender.send(big, { compress: false });
          sender.send(big, { binary: true });
          sender.send(big, { compress: false, binary: true });
          const got = await inbox.take(3);
          for (const m of got) assert.ok(m.data.equals(big));
          assert.deepEqual(
            got.map((m) => m.isBinary),
            [true, true, true],
          );
          const wire = await dataFrames(frames, 3, d);
          assert.deepEqual(
            wire.map((f) => f.rsv1),
            [false, true, false],
          );
          assert.equal(wire[0]!.payload.length, big.length);
        } finally {
          await p.close();
        }
      });

      it(`a fragmented message: RSV1 on its first frame only, one deflate stream (RFC 7692 §6.1), ${d}`, async () => {
        const p = await openPair();
        try {
          const [sender, inbox, frames] = ends(p, d);
          const whole = textCorpus(30 * KiB, 3);
          const cuts = [0, 2 * KiB, 2 * KiB + 1, 20 * KiB, whole.length];
          for (let i = 0; i < cuts.length - 1; i++) {
            const fin = i === cuts.length - 2;
            sender.send(whole.subarray(cuts[i], cuts[i + 1]), { binary: false, fin });
          }
          const m = await inbox.next();
          assert.equal(m.isBinary, false);
          assert.ok(m.data.equals(whole));
          const wire = await dataFrames(frames, 4, d);
          assert.deepEqual(
            wire.map((f) => [f.opcode, f.rsv1, f.fin]),
            [
              [1, true, false],
              [0, false, false],
              [0, false, false],
              [0, false, true],
            ],
          );
          // The first message of the connection: a fresh inflater decodes the joined payloads.
          const payload = Buffer.concat(wire.map((f) => f.payload));
          assert.ok(inflateMessage(payload).equals(whole));
          assert.ok(payload.length < whole.length / 2, 'compressed');
        } finally {
          await p.close();
        }
      });

      it(`a fragmented message whose first fragment is under the threshold goes uncompressed, ${d}`, async () => {
        const p = await openPair();
        try {
          const [sender, inbox, frames] = ends(p, d);
          const whole = textCorpus(10 * KiB, 4);
          sender.send(whole.subarray(0, 100), { binary: true, fin: false });
          sender.send(whole.subarray(100), { binary: true, fin: true });
          sender.send(whole, { binary: true });
          const got = await inbox.take(2);
          assert.ok(got[0]!.data.equals(whole));
          assert.ok(got[1]!.data.equals(whole));
          const wire = await dataFrames(frames, 3, d);
          assert.deepEqual(
            wire.map((f) => f.rsv1),
            [false, false, true],
          );
        } finally {
          await p.close();
        }
      });

      it(`control frames are never compressed (threshold 0): ping, pong, close, ${d}`, async () => {
        const options = { perMessageDeflate: { threshold: 0 } };
        const p = await openPair(options, options);
        try {
          const [sender, inbox] = ends(p, d);
          const other = sender === p.client ? p.remote : p.client;
          const payload = 'p'.repeat(125);
          sender.send('data first');
          sender.ping(payload);
          sender.pong(payload);
          await inbox.next();
          await inbox.until('ping', () =>
            inbox.events.some((e) => e.startsWith('ping')) ? 1 : undefined,
          );
          sender.close(4000, 'r'.repeat(100));
          await inbox.close();
          assert.ok(other);
          const all = [...p.wire.up.frames, ...p.wire.down.frames];
          const controls = all.filter((f) => f.opcode >= 0x8);
          assert.ok(controls.length >= 4, `${controls.length} control frames`);
          for (const f of controls) assert.equal(f.rsv1, false, `opcode ${f.opcode} with RSV1`);
          const data = all.filter((f) => f.opcode < 0x8);
          assert.ok(
            data.every((f) => f.rsv1),
            'threshold 0 compresses every data message',
          );
        } finally {
          await p.close();
        }
      });
    }

    it('window bits: a server limited to 9 (client) and 10 (server) bits; each side inflates what it got with exactly that window', async () => {
      const p = await openPair({
        perMessageDeflate: { clientMaxWindowBits: 9, serverMaxWindowBits: 10 },
      });
      try {
        assert.equal(
          p.client.extensions,
          'permessage-deflate; server_max_window_bits=10; client_max_window_bits=9',
        );
        const messages = [
          farRepeats(20 * KiB, 1),
          farRepeats(20 * KiB, 2),
          farRepeats(20 * KiB, 1),
        ];
        for (const m of messages) {
          p.client.send(m);
          p.remote.send(m);
        }
        await p.serverInbox.take(3);
        await p.clientInbox.take(3);
        for (const [frames, bits] of [
          [p.wire.up.frames, 9],
          [p.wire.down.frames, 10],
        ] as const) {
          const wire = messagesOf(frames);
          assert.equal(wire.length, 3);
          // The first message alone, as the brief's check: zlib with exactly that window.
          assert.ok(
            zlib
              .inflateRawSync(Buffer.concat([wire[0]!.payload, TAIL]), {
                windowBits: bits,
                finishFlush: zlib.constants.Z_SYNC_FLUSH,
              })
              .equals(messages[0]!),
          );
          // All three in one inflater of that window (context is taken over).
          const z = new PeerZlib(bits, true);
          for (let i = 0; i < 3; i++) {
            assert.ok(wire[i]!.rsv1);
            assert.ok((await z.inflate(wire[i]!.payload)).equals(messages[i]!), `#${i} at ${bits}`);
          }
          z.close();
          // The check can fail: the same message compressed with a 15-bit window (distances of
          // 1,500 bytes) does not inflate with that window.
          assert.throws(
            () => inflateMessage(deflateMessage(messages[0]!, 15), bits),
            /invalid distance too far back/,
            `a ${bits}-bit inflater accepted a 15-bit stream`,
          );
        }
      } finally {
        await p.close();
      }
    });

    it('context takeover: with it a repeated message is smaller the second time; without, both are standalone', async () => {
      const message = textCorpus(8 * KiB, 6);
      for (const [serverOptions, clientOptions, upKeeps, downKeeps] of [
        [{}, {}, true, true],
        [{ perMessageDeflate: { serverNoContextTakeover: true } }, {}, true, false],
        [{}, { perMessageDeflate: { clientNoContextTakeover: true } }, false, true],
        [{ perMessageDeflate: { clientNoContextTakeover: true } }, {}, false, true],
        [
          { perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true } },
          {},
          false,
          false,
        ],
      ] as [Partial<ServerOptions>, ClientOptions, boolean, boolean][]) {
        const p = await openPair(serverOptions, clientOptions);
        try {
          for (let i = 0; i < 2; i++) {
            p.client.send(message);
            p.remote.send(message);
          }
          await p.serverInbox.take(2);
          await p.clientInbox.take(2);
          for (const [frames, keeps, what] of [
            [p.wire.up.frames, upKeeps, 'client'],
            [p.wire.down.frames, downKeeps, 'server'],
          ] as const) {
            const [a, b] = messagesOf(frames);
            const label = `${what} with ${JSON.stringify([serverOptions, clientOptions])}`;
            if (keeps) {
              assert.ok(b!.payload.length < a!.payload.length / 4, `${label}: not smaller`);
            } else {
              assert.equal(b!.payload.length, a!.payload.length, `${label}: sizes differ`);
              assert.ok(inflateMessage(b!.payload).equals(message), `${label}: not standalone`);
            }
          }
        } finally {
          await p.close();
        }
      }
    });
  });

  describe('order', () => {
    /** Message i: a mix of compressed, under-threshold and compress:false, text and binary. */
    function mixed(i: number): { data: Buffer; binary: boolean; compress: boolean } {
      const kind = i % 5;
      const size = [10, 3000, 200, 6000, 40_000][kind]!;
      return {
        data: Buffer.concat([Buffer.from(`#${i}:`), textCorpus(size, i % 7)]),
        binary: i % 2 === 1,
        compress: kind !== 3,
      };
    }

    it('1,000 mixed messages each way at once arrive in order, and their callbacks run in order', async () => {
      const p = await openPair();
      try {
        const callbacks: Record<string, number[]> = { client: [], server: [] };
        for (let i = 0; i < 1000; i++) {
          for (const [name, ws] of [
            ['client', p.client],
            ['server', p.remote],
          ] as const) {
            const m = mixed(i);
            const data = m.binary ? m.data : m.data.toString();
            ws.send(data, { binary: m.binary, compress: m.compress }, (error) => {
              assert.ifError(error);
              callbacks[name]!.push(i);
            });
          }
        }
        for (const inbox of [p.serverInbox, p.clientInbox]) {
          const got = await inbox.take(1000, 20_000);
          got.forEach((m, i) => {
            const want = mixed(i);
            assert.equal(m.isBinary, want.binary, `type of #${i}`);
            assert.ok(m.data.equals(want.data), `#${i}: got ${m.data.subarray(0, 12)}…`);
          });
        }
        await within(
          (async () => {
            while (callbacks.client!.length < 1000 || callbacks.server!.length < 1000)
              await sleep(5);
          })(),
          'every callback',
        );
        assert.deepEqual(callbacks.client, [...Array(1000).keys()]);
        assert.deepEqual(callbacks.server, [...Array(1000).keys()]);
        // Compressed: the messages from the threshold (1024 B) on, unless sent with compress: false.
        const expected = [...Array(1000).keys()]
          .map(mixed)
          .filter((m) => m.compress && m.data.length >= 1024).length;
        assert.equal(expected, 400);
        for (const frames of [p.wire.up.frames, p.wire.down.frames]) {
          const wire = messagesOf(frames);
          assert.equal(wire.length, 1000);
          assert.equal(wire.filter((m) => m.rsv1).length, expected, 'compressed on the wire');
        }
      } finally {
        await p.close();
      }
    });

    for (const d of DIRECTIONS) {
      it(`a ping and a close sent behind pending compressions arrive after the data, ${d}`, async () => {
        const p = await openPair();
        try {
          const [sender, inbox, frames] = ends(p, d);
          const big = textCorpus(256 * KiB, 8);
          for (let i = 0; i < 20; i++) sender.send(big);
          sender.send('small, uncompressed');
          sender.ping('after the data');
          sender.close(1000, 'done');
          await inbox.close(10_000);
          const events = inbox.events;
          assert.deepEqual(
            events.slice(0, 21),
            [...Array(21).keys()].map((i) => `message ${i}`),
          );
          assert.equal(events[21], 'ping after the data');
          assert.equal(events[22], 'close 1000');
          for (let i = 0; i < 20; i++) assert.ok(inbox.messages[i]!.data.equals(big));
          const wire = frames();
          const kinds = wire.map((f) => (f.opcode < 0x8 ? 'data' : f.opcode));
          assert.deepEqual(kinds.slice(-2), [9, 8], 'ping then close, last on the wire');
          assert.equal(kinds.filter((k) => k === 'data').length, 21);
        } finally {
          await p.close();
        }
      });
    }

    it('without compression, a ping goes ahead of messages held for a peer that does not read', async () => {
      // Only asynchronous preparation (compression, a Blob) holds a ping back; data held for a
      // slow peer does not (outbox.ts), so that a busy connection still measures its round trip.
      const server = await startDeflateServer({ perMessageDeflate: false }, false);
      try {
        const remoteReady = new Promise<WebSocket>((resolve) =>
          server.wss.once('connection', resolve),
        );
        const { peer } = await dialRaw(server.port);
        peer.socket.pause();
        const remote = await within(remoteReady, 'the server-side connection');
        const chunk = randomPayload(64 * KiB, 3);
        let sent = 0;
        // Until sends have to wait in the outbox (the socket holds as much as it may).
        while (sent < 500 && remote.send(chunk)) sent++;
        for (let i = 0; i < 8; i++) remote.send(chunk);
        sent += 9;
        assert.ok(sent < 500, 'the socket never backed up');
        remote.ping('marker');
        peer.socket.resume();
        await peer.until(
          'every message',
          () => (peer.frames.filter((f) => f.opcode === 2).length === sent ? true : undefined),
          20_000,
        );
        const at = peer.frames.findIndex((f) => f.opcode === 9);
        assert.ok(at > 0, 'no ping');
        assert.ok(sent - at >= 8, `the ping came after ${at} of ${sent} messages`);
        for (const f of peer.frames.filter((f) => f.opcode === 2))
          assert.ok(f.payload.equals(chunk));
        peer.destroy();
      } finally {
        await server.close();
      }
    });

    it('a publish while a compressed fragmented message and a ping wait goes after the message', async () => {
      const p = await openPair();
      try {
        p.remote.subscribe('news');
        const head = textCorpus(20 * KiB, 5);
        p.remote.send(head, { binary: true, fin: false }); // compressing: the queue waits
        p.remote.ping('inside');
        p.server.wss.publish('news', 'published');
        p.remote.send(Buffer.from('the end'), { binary: true, fin: true });
        const got = await p.clientInbox.take(2);
        assert.ok(got[0]!.data.equals(Buffer.concat([head, Buffer.from('the end')])));
        assert.equal(got[1]!.data.toString(), 'published');
        const kinds = (await dataFrames(() => p.wire.down.frames, 3, 'frames')).map((f) => [
          f.opcode,
          f.fin,
        ]);
        assert.deepEqual(kinds, [
          [2, false],
          [0, true],
          [1, true],
        ]);
      } finally {
        await p.close();
      }
    });

    it('input is held while a message inflates: pause() in its handler holds the next ones', async () => {
      const p = await openPair();
      try {
        let paused = false;
        p.remote.once('message', () => {
          p.remote.pause();
          paused = true;
        });
        p.client.send(textCorpus(50 * KiB, 1).toString());
        p.client.send('uncompressed right behind');
        p.client.send(textCorpus(50 * KiB, 2).toString());
        // The inbox's listener runs before the pausing one: wait for the message, then check.
        await p.serverInbox.until('the first message', () =>
          p.serverInbox.messages.length > 0 ? true : undefined,
        );
        assert.ok(paused);
        await sleep(100);
        assert.equal(p.serverInbox.messages.length, 1, 'a message arrived while paused');
        p.remote.resume();
        const got = await p.serverInbox.take(3);
        assert.equal(got[1]!.data.toString(), 'uncompressed right behind');
        assert.ok(got[2]!.data.equals(textCorpus(50 * KiB, 2)));
      } finally {
        await p.close();
      }
    });
  });

  describe('many connections', () => {
    let server: EchoServer;
    before(async () => {
      server = await startDeflateServer({
        perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true },
      });
    });
    after(() => server.close());

    it('shared streams (no context takeover both ways): 100 connections echo 10 messages each at once', async () => {
      const clients = await Promise.all(Array.from({ length: 100 }, () => openClient(server.url)));
      try {
        for (const ws of clients) {
          assert.equal(
            ws.extensions,
            'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
          );
        }
        await Promise.all(
          clients.map(async (ws, c) => {
            const inbox = new Inbox(ws);
            const sent: Buffer[] = [];
            for (let i = 0; i < 10; i++) {
              const m = textCorpus(2000 + ((c * 13 + i * 101) % 9000), c * 10 + i);
              sent.push(m);
              ws.send(m, { binary: i % 2 === 0 });
            }
            const got = await inbox.take(10, 20_000);
            for (const [i, m] of got.entries()) {
              assert.ok(m.data.equals(sent[i]!), `conn ${c} message ${i}`);
            }
          }),
        );
      } finally {
        for (const ws of clients) ws.terminate();
      }
    });
  });

  describe('the zlib limiter through the binding', () => {
    async function peakWhile(work: () => Promise<void>): Promise<number> {
      const original = zlibLimiter.run;
      let running = 0;
      let peak = 0;
      zlibLimiter.run = function (this: typeof zlibLimiter, job) {
        return original.call(this, (done) => {
          running++;
          peak = Math.max(peak, running);
          let once = false;
          job(() => {
            if (!once) {
              once = true;
              running--;
            }
            done();
          });
        });
      };
      try {
        await work();
      } finally {
        zlibLimiter.run = original;
      }
      return peak;
    }

    async function burst(url: string, clientOptions: ClientOptions, count: number): Promise<void> {
      const clients = await Promise.all(
        Array.from({ length: count }, () => openClient(url, clientOptions)),
      );
      try {
        await Promise.all(
          clients.map(async (ws, i) => {
            const inbox = new Inbox(ws);
            ws.send(textCorpus(200 * KiB, i));
            await inbox.next(20_000);
          }),
        );
      } finally {
        for (const ws of clients) ws.terminate();
      }
    }

    it("the server's concurrencyLimit caps the zlib jobs of all its connections (3)", async () => {
      const server = await startDeflateServer({ perMessageDeflate: { concurrencyLimit: 3 } });
      try {
        const peak = await peakWhile(() => burst(server.url, {}, 40));
        assert.ok(peak <= 3 && peak >= 2, `peak ${peak}`);
      } finally {
        await server.close();
        zlibLimiter.setConcurrency(10);
      }
    });

    it("a client's concurrencyLimit caps its zlib jobs too (2)", async () => {
      const server = await startDeflateServer({ perMessageDeflate: { concurrencyLimit: 50 } });
      try {
        // The server asked for 50 (process-wide); the clients, in the same process, ask for 2.
        const peak = await peakWhile(() =>
          burst(server.url, { perMessageDeflate: { concurrencyLimit: 2 } }, 40),
        );
        assert.ok(peak <= 2, `peak ${peak}: the client's concurrencyLimit was ignored`);
      } finally {
        await server.close();
        zlibLimiter.setConcurrency(10);
      }
    });
  });

  describe('sends around the close', () => {
    it('a compressed send after the connection closed fails like an uncompressed one: callback error, no error event', async () => {
      const p = await openPair();
      try {
        p.client.close();
        await p.clientInbox.close();
        const results: string[] = [];
        for (const data of ['small', textCorpus(10 * KiB, 1).toString()]) {
          await new Promise<void>((resolve) =>
            p.client.send(data, (error) => {
              results.push(error ? 'error' : 'ok');
              resolve();
            }),
          );
        }
        assert.deepEqual(results, ['error', 'error']);
        const before = p.client.bufferedAmount;
        p.client.send('small again');
        p.client.send(textCorpus(10 * KiB, 2).toString());
        await sleep(50);
        assert.deepEqual(p.clientInbox.errors, [], 'an error event after close');
        assert.equal(
          p.client.bufferedAmount - before,
          'small again'.length + 10 * KiB,
          'bufferedAmount counts what was sent after close, compressed or not',
        );
      } finally {
        await p.close();
      }
    });

    it('the connection dies with compressions queued: each callback runs once, no error event, a sendStream behind them settles', async () => {
      const p = await openPair();
      // The process-wide limiter is kept busy, so that the first compression is still waiting
      // for a slot when the connection dies, and runs after.
      zlibLimiter.setConcurrency(1);
      let free!: () => void;
      zlibLimiter.run((done) => {
        free = done;
      });
      try {
        const calls = new Array<number>(20).fill(0);
        for (let i = 0; i < 20; i++) {
          p.client.send(textCorpus(100 * KiB, i), () => {
            calls[i]!++;
          });
        }
        const pinged = new Promise<Error | null | undefined>((resolve) =>
          p.client.ping('behind', resolve),
        );
        const streamed = p.client.sendStream([Buffer.from('a'), Buffer.from('b')]).then(
          () => 'sent',
          () => 'failed',
        );
        p.client.terminate();
        await p.clientInbox.close();
        free();
        assert.equal(await within(streamed, 'the sendStream promise'), 'failed');
        assert.ok((await within(pinged, 'the ping callback')) instanceof Error);
        await within(
          (async () => {
            while (calls.some((n) => n === 0)) await sleep(5);
          })(),
          'every callback',
        );
        // The compression that waited ends after the close: it must not call back a second
        // time, nor emit an error.
        await sleep(100);
        assert.deepEqual(calls, new Array(20).fill(1));
        assert.deepEqual(p.clientInbox.errors, []);
      } finally {
        free();
        zlibLimiter.setConcurrency(10);
        await p.close();
      }
    });

    it('a Blob ending a compressed fragmented message: the receiver gets the whole message', async () => {
      const p = await openPair();
      try {
        const head = textCorpus(4 * KiB, 1);
        p.client.send(head, { binary: true, fin: false });
        p.client.send(new Blob(['the end']), { binary: true, fin: true });
        const m = await p.serverInbox.next();
        assert.ok(m.data.equals(Buffer.concat([head, Buffer.from('the end')])));
      } finally {
        await p.close();
      }
    });
  });
});
