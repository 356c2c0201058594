/**
 * permessage-deflate with peers we did not write, compression on at both ends, both pairings:
 * ws (perMessageDeflate on) and python-websockets (on by default). A TCP tap between the two
 * records every frame, so that each test checks the wire too: the agreed header (the same in
 * the 101 and on both ends), RSV1 on the messages that should be compressed, and every
 * compressed message inflated strictly with the agreed window and context mode.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer as WSServer, WebSocket as WSWebSocket } from 'ws';
import {
  type PerMessageDeflateOptions,
  WebSocketServer as TswsServer,
  WebSocket as TswsWebSocket,
} from '../../src/index.js';
import { type Agreed, paramSet, parseAgreed } from '../helpers/deflate-conformance.js';
import {
  messagesOf,
  PeerZlib,
  randomPayload,
  startTap,
  type Tap,
  type TapLog,
  textCorpus,
} from '../helpers/deflate-wire.js';
import {
  assertSameBytes,
  binaryPayload,
  type Endpoint,
  EVENT_TIMEOUT,
  MiB,
  Recorder,
  sha256,
  textPayload,
  withTimeout,
} from './helpers.js';
import { type PyEvent, PythonPeer, requirePythonWebsockets } from './python-peer.js';

/** A message one end sends, and what the wire should show for it. */
interface Sent {
  data: Buffer;
  binary: boolean;
  /** Expected RSV1: true, false, or undefined when the sender may choose. */
  compressed: boolean | undefined;
}

/**
 * Checks one direction of the wire from its first message: as many messages as sent, RSV1 as
 * expected and only on first frames, and each compressed one inflating (in order, sharing the
 * context unless the agreement drops it) to what was sent.
 */
async function checkWire(log: TapLog, sent: Sent[], bits: number, takeover: boolean) {
  const wire = messagesOf(log.frames);
  assert.equal(wire.length, sent.length, 'messages on the wire');
  const z = new PeerZlib(bits, takeover);
  try {
    for (const [i, m] of sent.entries()) {
      const w = wire[i]!;
      const what = `message #${i} (${m.data.length} B)`;
      assert.equal(w.opcode, m.binary ? 2 : 1, `${what}: opcode`);
      if (m.compressed !== undefined) assert.equal(w.rsv1, m.compressed, `${what}: RSV1`);
      assert.ok(
        w.frames.slice(1).every((f) => !f.rsv1),
        `${what}: RSV1 on a continuation`,
      );
      const data = w.rsv1 ? await z.inflate(w.payload) : w.payload;
      assertSameBytes(data, m.data, `${what} inflated with ${bits} bits`);
    }
  } finally {
    z.close();
  }
}

/** Waits until `log` holds `count` whole data messages. */
function wireHas(log: TapLog, count: number): Promise<void> {
  const deadline = Date.now() + EVENT_TIMEOUT;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (messagesOf(log.frames).length >= count) resolve();
      else if (Date.now() > deadline) reject(new Error(`${count} messages on the wire`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

/** [window bits, context takeover] of each direction. */
function directions(agreed: Agreed): { up: [number, boolean]; down: [number, boolean] } {
  return {
    up: [agreed.clientMaxWindowBits, !agreed.clientNoContextTakeover],
    down: [agreed.serverMaxWindowBits, !agreed.serverNoContextTakeover],
  };
}

const THRESHOLD = 1024;
/** Sizes around the threshold, the 16-bit and 64-bit lengths, and 1 MiB. */
const SIZES = [0, 125, THRESHOLD - 1, THRESHOLD, 65535, 65536, MiB];

/** What each end of a ws/tsws pair sends: text, compressible binary, random binary, one uncompressed. */
function plan(
  threshold: number,
  seed: number,
): { data: Buffer; binary: boolean; compress: boolean }[] {
  const out: { data: Buffer; binary: boolean; compress: boolean }[] = [];
  for (const size of SIZES) {
    out.push({ data: Buffer.from(textPayload(size)), binary: false, compress: true });
    out.push({ data: textCorpus(size, seed + size), binary: true, compress: true });
    if (size >= threshold)
      out.push({ data: randomPayload(size, seed), binary: true, compress: true });
  }
  out.push({ data: textCorpus(100_000, seed), binary: false, compress: false });
  return out;
}

// ---------------------------------------------------------------- ws

type Impl = 'ws' | 'tsws';

interface WsConfig {
  name: string;
  server: PerMessageDeflateOptions | true;
  client: PerMessageDeflateOptions | true;
  /** The agreed parameters, as a sorted list. */
  expected: string[];
  threshold: number;
}

const WS_CONFIGS: WsConfig[] = [
  { name: 'defaults', server: true, client: true, expected: [], threshold: THRESHOLD },
  {
    name: 'the server drops both contexts and limits the windows (10 and 11 bits)',
    server: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 11,
    },
    client: true,
    expected: [
      'client_max_window_bits=11',
      'client_no_context_takeover',
      'server_max_window_bits=10',
      'server_no_context_takeover',
    ],
    threshold: THRESHOLD,
  },
  {
    name: 'the client asks for no server context and a 9-bit server window, hints 12 bits; threshold 0',
    server: { threshold: 0 },
    client: {
      serverNoContextTakeover: true,
      serverMaxWindowBits: 9,
      clientMaxWindowBits: 12,
      threshold: 0,
    },
    expected: [
      'client_max_window_bits=12',
      'server_max_window_bits=9',
      'server_no_context_takeover',
    ],
    threshold: 0,
  },
];

interface WsPair {
  client: Recorder;
  server: Recorder;
  tsws: TswsWebSocket;
  tap: Tap;
  dispose(): Promise<void>;
}

async function openWsPair(clientImpl: Impl, config: WsConfig): Promise<WsPair> {
  let server: TswsServer | WSServer;
  const common = { port: 0, host: '127.0.0.1', perMessageDeflate: config.server };
  if (clientImpl === 'ws') server = new TswsServer({ ...common, heartbeat: false });
  else server = new WSServer(common as ConstructorParameters<typeof WSServer>[0]);
  let serverRec!: Recorder;
  const connected = new Promise<Endpoint>((resolve) =>
    server.on('connection', (socket: Endpoint) => {
      serverRec = new Recorder(`${clientImpl === 'ws' ? 'tsws' : 'ws'} server`, socket);
      socket.on('error', () => {});
      resolve(socket);
    }),
  );
  await withTimeout(
    new Promise((resolve) => server.once('listening', () => resolve(undefined))),
    EVENT_TIMEOUT,
    'listening',
  );
  const tap = await startTap((server.address() as AddressInfo).port);
  const socket =
    clientImpl === 'tsws'
      ? new TswsWebSocket(tap.url, { heartbeat: false, perMessageDeflate: config.client })
      : new WSWebSocket(tap.url, {
          perMessageDeflate: config.client as ConstructorParameters<typeof WSWebSocket>[1] & object,
        } as ConstructorParameters<typeof WSWebSocket>[2]);
  const client = new Recorder(`${clientImpl} client`, socket as Endpoint);
  (socket as Endpoint).on('error', () => {});
  await client.open();
  const serverSocket = await withTimeout(connected, EVENT_TIMEOUT, 'the server-side connection');
  return {
    client,
    server: serverRec,
    tsws: (clientImpl === 'tsws' ? socket : serverSocket) as TswsWebSocket,
    tap,
    async dispose() {
      for (const s of [client.socket, serverRec.socket]) if (s.readyState !== 3) s.terminate();
      tap.close();
      await withTimeout(
        new Promise<void>((resolve) => server.close(() => resolve())),
        EVENT_TIMEOUT,
        'the server to stop',
      );
    },
  };
}

for (const clientImpl of ['ws', 'tsws'] as const) {
  const pairing = clientImpl === 'ws' ? 'ws client → tsws server' : 'tsws client → ws server';
  for (const config of WS_CONFIGS) {
    describe(`permessage-deflate with ws: ${pairing}, ${config.name}`, { timeout: 60_000 }, () => {
      let pair: WsPair;
      let agreed: Agreed;
      before(async () => {
        pair = await openWsPair(clientImpl, config);
        const header = /sec-websocket-extensions: ([^\r\n]*)/i.exec(
          pair.tap.connections[0]!.down.head,
        )?.[1];
        agreed = parseAgreed(header)!;
      });
      after(() => pair.dispose());

      it(`agreed: permessage-deflate${config.expected.map((p) => `; ${p}`).join('')}, the same in the 101 and on both ends`, () => {
        const wire = pair.tap.connections[0]!;
        const header = /sec-websocket-extensions: ([^\r\n]*)/i.exec(wire.down.head)?.[1];
        assert.deepEqual(paramSet(header), config.expected, 'the 101');
        assert.match(
          /sec-websocket-extensions: ([^\r\n]*)/i.exec(wire.up.head)?.[1] ?? '',
          /^permessage-deflate/,
        );
        assert.deepEqual(paramSet(pair.tsws.extensions), config.expected, 'tsws');
        // ws reports the names of the extensions in use.
        const ws = clientImpl === 'ws' ? pair.client.socket : pair.server.socket;
        assert.equal(ws.extensions, 'permessage-deflate');
      });

      it('messages of every size both ways arrive; compressed on the wire from the threshold on, within the agreed window and context', async () => {
        const sent = { up: plan(config.threshold, 1), down: plan(config.threshold, 2) };
        for (const m of sent.up)
          pair.client.socket.send(m.data, { binary: m.binary, compress: m.compress } as never);
        for (const m of sent.down)
          pair.server.socket.send(m.data, { binary: m.binary, compress: m.compress } as never);
        for (const [rec, list] of [
          [pair.server, sent.up],
          [pair.client, sent.down],
        ] as const) {
          const got = await rec.nextMessages(list.length, 30_000);
          got.forEach((m, i) => {
            assert.equal(m.isBinary, list[i]!.binary, `type of #${i} at ${rec.label}`);
            assertSameBytes(m.data, list[i]!.data, `#${i} at ${rec.label}`);
          });
        }
        const wire = pair.tap.connections[0]!;
        const { up, down } = directions(agreed);
        // ws applies its threshold only to a direction without context takeover; below it, ws
        // may compress. tsws applies it always.
        const expect = (list: typeof sent.up, impl: Impl): Sent[] =>
          list.map((m) => ({
            data: m.data,
            binary: m.binary,
            compressed:
              !m.compress || m.data.length >= config.threshold
                ? m.compress
                : impl === 'tsws'
                  ? false
                  : undefined,
          }));
        const serverImpl: Impl = clientImpl === 'ws' ? 'tsws' : 'ws';
        await checkWire(wire.up, expect(sent.up, clientImpl), ...up);
        await checkWire(wire.down, expect(sent.down, serverImpl), ...down);
      });

      it('fragmented compressed messages both ways, and 500 mixed messages each way at once, in order', async () => {
        const wire = pair.tap.connections[0]!;
        const before = {
          up: messagesOf(wire.up.frames).length,
          down: messagesOf(wire.down.frames).length,
        };
        const whole = textCorpus(40_000, 7);
        for (const s of [pair.client.socket, pair.server.socket]) {
          s.send(whole.subarray(0, 5000), { binary: true, fin: false });
          s.send(whole.subarray(5000, 5001), { binary: true, fin: false });
          s.send(whole.subarray(5001), { binary: true, fin: true });
        }
        const mixed = (i: number) => ({
          data: Buffer.from(`#${i} ${i % 3 === 0 ? textPayload(3000 + i) : 'small'}`),
          binary: i % 2 === 0,
        });
        for (let i = 0; i < 500; i++) {
          const m = mixed(i);
          pair.client.socket.send(m.data, { binary: m.binary });
          pair.server.socket.send(m.data, { binary: m.binary });
        }
        for (const rec of [pair.server, pair.client]) {
          const [first, ...rest] = await rec.nextMessages(501, 30_000);
          assertSameBytes(first!.data, whole, `the fragmented message at ${rec.label}`);
          rest.forEach((m, i) => {
            assert.equal(m.isBinary, mixed(i).binary);
            assertSameBytes(m.data, mixed(i).data, `#${i} at ${rec.label}`);
          });
        }
        for (const [log, n] of [
          [wire.up, before.up],
          [wire.down, before.down],
        ] as const) {
          await wireHas(log, n + 501);
          const fragmented = messagesOf(log.frames)[n]!;
          assert.deepEqual(
            fragmented.frames.map((f) => f.rsv1),
            [true, false, false],
            'RSV1 on the first fragment only',
          );
        }
      });

      it('a clean close after compressed traffic: 1000 on both ends', async () => {
        pair.client.socket.close(1000, 'done');
        assert.equal((await pair.client.close()).code, 1000);
        assert.equal((await pair.server.close()).code, 1000);
      });
    });
  }
}

// ---------------------------------------------------------------- python-websockets

interface PyPair {
  rec: Recorder;
  socket: TswsWebSocket;
  id: string;
  open: PyEvent;
  tap: Tap;
  dispose(): Promise<void>;
}

const PY_CONFIG = { compression: 'default', max_size: null, ping_interval: null } as const;

describe('permessage-deflate with python-websockets (its default compression)', {
  timeout: 120_000,
}, () => {
  let pyClient: PythonPeer;
  let pyServer: PythonPeer;
  let counter = 0;
  before(async () => {
    requirePythonWebsockets();
    pyClient = await PythonPeer.start('client.py');
    pyServer = await PythonPeer.start('server.py', PY_CONFIG);
  });
  after(async () => {
    await Promise.all([pyClient?.stop(), pyServer?.stop()]);
  });

  async function pythonClientPair(deflate: PerMessageDeflateOptions | true): Promise<PyPair> {
    const id = `/d${++counter}`;
    const server = new TswsServer({
      port: 0,
      host: '127.0.0.1',
      heartbeat: false,
      perMessageDeflate: deflate,
    });
    const connected = new Promise<TswsWebSocket>((resolve) => server.once('connection', resolve));
    await withTimeout(
      new Promise((r) => server.once('listening', () => r(undefined))),
      EVENT_TIMEOUT,
      'listening',
    );
    const tap = await startTap((server.address() as AddressInfo).port);
    pyClient.send({ op: 'connect', id, url: `ws://127.0.0.1:${tap.port}${id}`, ...PY_CONFIG });
    const socket = await withTimeout(connected, EVENT_TIMEOUT, 'the python client');
    const rec = new Recorder('tsws server', socket as Endpoint);
    socket.on('error', () => {});
    const open = await pyClient.opened(id);
    return {
      rec,
      socket,
      id,
      open,
      tap,
      async dispose() {
        if (socket.readyState !== 3) socket.terminate();
        await rec.close();
        await pyClient.closed(id);
        tap.close();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
  }

  async function pythonServerPair(deflate: PerMessageDeflateOptions | true): Promise<PyPair> {
    const id = `/d${++counter}`;
    const tap = await startTap(pyServer.port);
    const socket = new TswsWebSocket(`ws://127.0.0.1:${tap.port}${id}`, {
      heartbeat: false,
      perMessageDeflate: deflate,
    });
    const rec = new Recorder('tsws client', socket as Endpoint);
    socket.on('error', () => {});
    await rec.open();
    const open = await pyServer.opened(id);
    return {
      rec,
      socket,
      id,
      open,
      tap,
      async dispose() {
        if (socket.readyState !== 3) socket.terminate();
        await rec.close();
        await pyServer.closed(id);
        tap.close();
      },
    };
  }

  const PY_CASES: [
    name: string,
    open: () => Promise<PyPair>,
    py: () => PythonPeer,
    expected: string[],
  ][] = [
    [
      'python client → tsws server (perMessageDeflate: true)',
      () => pythonClientPair(true),
      () => pyClient,
      [],
    ],
    [
      'python client → tsws server dropping its context, 10-bit windows both ways',
      () =>
        pythonClientPair({
          serverNoContextTakeover: true,
          serverMaxWindowBits: 10,
          clientMaxWindowBits: 10,
        }),
      () => pyClient,
      ['client_max_window_bits=10', 'server_max_window_bits=10', 'server_no_context_takeover'],
    ],
    [
      'tsws client (its default offer) → python server (12-bit windows)',
      () => pythonServerPair(true),
      () => pyServer,
      ['client_max_window_bits=12', 'server_max_window_bits=12'],
    ],
  ];

  for (const [name, open, py, expected] of PY_CASES) {
    describe(name, () => {
      let pair: PyPair;
      before(async () => {
        pair = await open();
      });
      after(() => pair.dispose());

      const agreed = () => parseAgreed(pair.open.response_extensions ?? undefined)!;
      const tswsIsClient = name.startsWith('tsws');

      it(`agreed: permessage-deflate${expected.map((p) => `; ${p}`).join('')}, the same in the 101 and on both ends`, () => {
        assert.deepEqual(pair.open.extensions, ['permessage-deflate']);
        assert.match(pair.open.request_extensions ?? '', /^permessage-deflate/);
        assert.deepEqual(paramSet(pair.open.response_extensions ?? undefined), expected, 'the 101');
        assert.deepEqual(paramSet(pair.socket.extensions), expected, 'tsws');
        const head = pair.tap.connections[0]!.down.head;
        assert.deepEqual(
          paramSet(/sec-websocket-extensions: ([^\r\n]*)/i.exec(head)?.[1]),
          expected,
        );
      });

      it('messages of every size both ways, python compressing all, tsws from the threshold on', async () => {
        const wire = pair.tap.connections[0]!;
        const toPython: Sent[] = [];
        for (const size of [...SIZES, 16 * MiB]) {
          const text = Buffer.from(textPayload(size));
          pair.socket.send(text.toString());
          toPython.push({ data: text, binary: false, compressed: size >= THRESHOLD });
          const random = randomPayload(Math.min(size, 100_000), size);
          pair.socket.send(random);
          toPython.push({ data: random, binary: true, compressed: random.length >= THRESHOLD });
        }
        const events = await py().nextMessages(pair.id, toPython.length, 30_000);
        events.forEach((e, i) => {
          assert.equal(e.type, toPython[i]!.binary ? 'binary' : 'text');
          assert.equal(e.sha256, sha256(toPython[i]!.data), `#${i} at python`);
        });
        const fromPython: Sent[] = [];
        for (const size of [...SIZES, 16 * MiB]) {
          await py().call({ op: 'send', id: pair.id, type: 'text', size }, 30_000);
          fromPython.push({
            data: Buffer.from(textPayload(size)),
            binary: false,
            compressed: undefined,
          });
          await py().call(
            { op: 'send', id: pair.id, type: 'binary', size, seed: size % 251 },
            30_000,
          );
          fromPython.push({
            data: binaryPayload(size, size % 251),
            binary: true,
            compressed: undefined,
          });
        }
        const random = randomPayload(50_000, 3);
        await py().call({
          op: 'send',
          id: pair.id,
          type: 'binary',
          b64: random.toString('base64'),
        });
        fromPython.push({ data: random, binary: true, compressed: undefined });
        const got = await pair.rec.nextMessages(fromPython.length, 30_000);
        for (const [i, m] of got.entries()) {
          assertSameBytes(m.data, fromPython[i]!.data, `#${i} at tsws`);
        }
        const { up, down } = directions(agreed());
        const [mine, theirs] = tswsIsClient ? [wire.up, wire.down] : [wire.down, wire.up];
        await checkWire(mine, toPython, ...(tswsIsClient ? up : down));
        await checkWire(theirs, fromPython, ...(tswsIsClient ? down : up));
        // python-websockets compresses every message.
        assert.ok(
          messagesOf(theirs.frames)
            .filter((m) => m.payload.length > 0)
            .every((m) => m.rsv1),
        );
      });

      it('fragmented compressed messages both ways, and 2000 messages each way, in order', async () => {
        const whole = textCorpus(50_000, 5);
        pair.socket.send(whole.subarray(0, 1000), { binary: true, fin: false });
        pair.socket.send(whole.subarray(1000, 1001), { binary: true, fin: false });
        pair.socket.send(whole.subarray(1001), { binary: true, fin: true });
        const parts = [whole.subarray(0, 20_000), Buffer.alloc(0), whole.subarray(20_000)];
        await py().call({
          op: 'fragments',
          id: pair.id,
          type: 'binary',
          parts: parts.map((p) => p.toString('base64')),
        });
        const [atPython] = await py().nextMessages(pair.id, 1);
        assert.equal(atPython!.sha256, sha256(whole));
        assertSameBytes((await pair.rec.nextMessage()).data, whole, 'fragments from python');
        for (let i = 0; i < 2000; i++) {
          pair.socket.send(i % 2 === 0 ? `#${i}` : Buffer.from(`#${i}`));
        }
        const [events, messages] = await Promise.all([
          py().nextMessages(pair.id, 2000, 30_000),
          pair.rec.nextMessages(2000, 30_000),
          py().call({ op: 'burst', id: pair.id, count: 2000 }, 30_000),
        ]);
        events.forEach((e, i) => {
          assert.equal(Buffer.from(e.b64!, 'base64').toString(), `#${i}`);
        });
        messages.forEach((m, i) => {
          assert.equal(m.data.toString(), `#${i}`);
          assert.equal(m.isBinary, i % 2 === 1);
        });
      });

      it('a clean close after compressed traffic: 1000 on both ends', async () => {
        pair.socket.close(1000, 'done');
        assert.equal((await pair.rec.close()).code, 1000);
        assert.equal((await py().closed(pair.id)).code, 1000);
      });
    });
  }
});
