// Autobahn 13.x: compressed echo under each set of permessage-deflate parameters, against both
// roles of tsws (see 12-compression for the set-up):
// - 13.1-13.7 exactly as Autobahn: its seven client offers against the tsws server, and the
//   seven answers of its fuzzing server to the tsws client's offer, at its 18 message sizes;
// - 13.8 every combination of the four parameters in an offer (with and without values),
//   against a server with default settings and one that limits both directions;
// - 13.9 every valid answer to the tsws client's offer, default and restricted;
// - 13.10 answers the client must refuse, and offers the server must decline.
// The raw peer inflates every echo with exactly the agreed window and context mode, and the
// messages include repeats at distances from 300 B to 24 KiB, so an endpoint that goes beyond
// the agreed window or keeps a context it agreed to drop fails.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type ServerOptions, WebSocket } from '../../src/index.js';
import {
  countFor,
  type EchoMessage,
  ENDPOINT_DEFLATE,
  echo,
  finish,
  type Link,
  MSG_SIZES,
  openClientRole,
  openServerRole,
  paramSet,
} from '../helpers/deflate-conformance.js';
import {
  type EchoServer,
  imagePayload,
  listenRaw,
  randomPayload,
  startDeflateServer,
  textCorpus,
  within,
} from '../helpers/deflate-wire.js';

// ---- Autobahn's parameters (case12_x_x.py, DEFLATE_PARAMS) ----

/** Autobahn's PerMessageDeflateOffer(requestNoContextTakeover, requestMaxWindowBits). */
function autobahnOffer(noContextTakeover: boolean, maxWindowBits: number): string {
  let offer = 'permessage-deflate; client_no_context_takeover; client_max_window_bits';
  if (noContextTakeover) offer += '; server_no_context_takeover';
  if (maxWindowBits !== 0) offer += `; server_max_window_bits=${maxWindowBits}`;
  return offer;
}

/** Autobahn's server accept (requestNoContextTakeover, requestMaxWindowBits) of our offer. */
function autobahnAnswer(noContextTakeover: boolean, maxWindowBits: number): string {
  let answer = 'permessage-deflate';
  if (noContextTakeover) answer += '; client_no_context_takeover';
  if (maxWindowBits !== 0) answer += `; client_max_window_bits=${maxWindowBits}`;
  return answer;
}

const AUTOBAHN: [id: string, offers: [boolean, number][], expected: string[]][] = [
  ['13.1', [[false, 0]], ['client_no_context_takeover']],
  ['13.2', [[true, 0]], ['client_no_context_takeover', 'server_no_context_takeover']],
  ['13.3', [[false, 8]], ['client_no_context_takeover', 'server_max_window_bits=8']],
  ['13.4', [[false, 15]], ['client_no_context_takeover', 'server_max_window_bits=15']],
  [
    '13.5',
    [[true, 8]],
    ['client_no_context_takeover', 'server_max_window_bits=8', 'server_no_context_takeover'],
  ],
  [
    '13.6',
    [[true, 15]],
    ['client_no_context_takeover', 'server_max_window_bits=15', 'server_no_context_takeover'],
  ],
  [
    '13.7',
    [
      [true, 8],
      [true, 0],
      [false, 0],
    ],
    ['client_no_context_takeover', 'server_max_window_bits=8', 'server_no_context_takeover'],
  ],
];

// ---- payloads ----

/** Blocks repeated at distances from 300 B to 24 KiB: each window size sees different matches. */
function windowProbe(seed: number): Buffer {
  const parts: Buffer[] = [];
  for (const [i, distance] of [300, 700, 1500, 3000, 6000, 12000, 24000].entries()) {
    const block = randomPayload(64, seed + i);
    parts.push(block, randomPayload(distance - 64, seed + 100 + i), block, block);
  }
  return Buffer.concat(parts);
}

/** A few messages that touch every part of the codec, for the combination cases. */
function mixedMessages(seed: number): EchoMessage[] {
  const json = textCorpus(3000, seed);
  return [
    { data: json, binary: false },
    // The same again: with context takeover it refers to the first.
    { data: json, binary: false },
    { data: windowProbe(seed), binary: true },
    { data: imagePayload(70_000, seed), binary: true, fragment: 4096, pingInside: true },
    // Uncompressed, between compressed ones (RFC 7692 §6: a choice per message).
    { data: textCorpus(5000, seed + 1), binary: false, plain: true },
    { data: windowProbe(seed + 7), binary: true, fragment: 1000 },
    { data: Buffer.alloc(0), binary: false },
    { data: json, binary: true },
  ];
}

async function run(link: Link, messages: EchoMessage[]): Promise<void> {
  try {
    await echo(link, messages);
    assert.equal(await finish(link), 1000);
  } finally {
    await link.close();
  }
}

// ---- 13.1-13.7 ----

describe('13.1-13.7: Autobahn’s parameter sets', () => {
  let server: EchoServer;
  before(async () => {
    server = await startDeflateServer({ maxPayload: 0, perMessageDeflate: ENDPOINT_DEFLATE });
  });
  after(() => server.close());

  for (const [id, offers, expected] of AUTOBAHN) {
    for (const role of ['server', 'client'] as const) {
      const header =
        role === 'server'
          ? offers.map(([n, w]) => autobahnOffer(n, w)).join(', ')
          : autobahnAnswer(...offers[0]!);
      for (const [i, [size, fragment]] of MSG_SIZES.entries()) {
        const count = countFor(size);
        const framing = fragment === 0 ? 'whole' : `in frames of ${fragment} B`;
        it(`${role} ${id}.${i + 1}: ${header}; ${count} × ${size} B JSON, ${framing}`, async () => {
          const link =
            role === 'server'
              ? await openServerRole(header, {}, server)
              : await openClientRole(header);
          if (role === 'server') assert.deepEqual(paramSet(link.header), expected);
          else assert.deepEqual(paramSet(link.endpoint.extensions), paramSet(header));
          const messages = Array.from({ length: count }, (_, k) => ({
            data: textCorpus(size, i * 100 + k),
            binary: false,
            fragment: fragment === 0 ? undefined : fragment,
            pingInside: k === 0,
          }));
          await run(link, messages);
        });
      }
    }
  }
});

// ---- 13.8: every combination of an offer ----

type Bits = number | undefined;
interface Offer {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: Bits;
  /** `true`: without a value. */
  clientMaxWindowBits: Bits | true;
}

function formatOffer(o: Offer): string {
  const params = ['permessage-deflate'];
  if (o.serverNoContextTakeover) params.push('server_no_context_takeover');
  if (o.clientNoContextTakeover) params.push('client_no_context_takeover');
  if (o.serverMaxWindowBits !== undefined)
    params.push(`server_max_window_bits=${o.serverMaxWindowBits}`);
  if (o.clientMaxWindowBits === true) params.push('client_max_window_bits');
  else if (o.clientMaxWindowBits !== undefined) {
    params.push(`client_max_window_bits=${o.clientMaxWindowBits}`);
  }
  return params.join('; ');
}

function* offers(): Generator<Offer> {
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of [undefined, 8, 9, 12, 15]) {
        for (const clientMaxWindowBits of [undefined, true, 8, 9, 12, 15] as const) {
          yield {
            serverNoContextTakeover,
            clientNoContextTakeover,
            serverMaxWindowBits,
            clientMaxWindowBits,
          };
        }
      }
    }
  }
}

/** The server's limits for one run of the matrix. */
interface ServerLimits {
  serverNoContextTakeover?: boolean;
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number;
}

/**
 * The response RFC 7692 §7.1 allows and tsws picks: every offered parameter accepted (echoed,
 * values lowered to our limits), our own limits added where the RFC lets a server add them; an
 * offer without client_max_window_bits declined when we must limit the client (§7.1.2.2).
 */
function expectedResponse(o: Offer, limits: ServerLimits): string[] | undefined {
  const clientLimit = limits.clientMaxWindowBits ?? 15;
  if (o.clientMaxWindowBits === undefined && clientLimit < 15) return undefined;
  const out: string[] = [];
  if (o.serverNoContextTakeover || limits.serverNoContextTakeover) {
    out.push('server_no_context_takeover');
  }
  if (o.clientNoContextTakeover) out.push('client_no_context_takeover');
  const serverLimit = limits.serverMaxWindowBits ?? 15;
  if (o.serverMaxWindowBits !== undefined || serverLimit < 15) {
    out.push(`server_max_window_bits=${Math.min(o.serverMaxWindowBits ?? 15, serverLimit)}`);
  }
  if (o.clientMaxWindowBits !== undefined && (o.clientMaxWindowBits !== true || clientLimit < 15)) {
    const offered = o.clientMaxWindowBits === true ? 15 : o.clientMaxWindowBits;
    out.push(`client_max_window_bits=${Math.min(offered, clientLimit)}`);
  }
  return out.sort();
}

const SERVER_SETTINGS: [name: string, limits: ServerLimits][] = [
  ['a default server', {}],
  [
    'a server without context, 10-bit window, limiting clients to 11 bits',
    { serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 11 },
  ],
];

for (const [name, limits] of SERVER_SETTINGS) {
  describe(`server 13.8: every combination of an offer, against ${name}`, () => {
    let server: EchoServer;
    before(async () => {
      server = await startDeflateServer({
        maxPayload: 0,
        perMessageDeflate: { ...ENDPOINT_DEFLATE, ...limits },
      } as Partial<ServerOptions>);
    });
    after(() => server.close());
    let n = 0;
    for (const offer of offers()) {
      const header = formatOffer(offer);
      const expected = expectedResponse(offer, limits);
      const seed = ++n;
      const outcome = expected === undefined ? 'declined' : `→ ${expected.join('; ') || '(none)'}`;
      it(`server 13.8.${seed}: ${header} ${outcome}`, async () => {
        const link = await openServerRole(header, {}, server);
        if (expected === undefined) assert.equal(link.header, undefined, 'declined');
        else assert.deepEqual(paramSet(link.header), expected);
        assert.equal(link.endpoint.extensions, link.header ?? '');
        await run(link, expected === undefined ? [] : mixedMessages(seed));
      });
    }
  });
}

// ---- 13.9: every valid answer to the client's offer ----

interface Answer {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: Bits;
  clientMaxWindowBits: Bits;
}

function* answers(only: (a: Answer) => boolean): Generator<Answer> {
  for (const serverNoContextTakeover of [false, true]) {
    for (const clientNoContextTakeover of [false, true]) {
      for (const serverMaxWindowBits of [undefined, 8, 9, 10, 12, 15]) {
        for (const clientMaxWindowBits of [undefined, 8, 9, 12, 15]) {
          const a = {
            serverNoContextTakeover,
            clientNoContextTakeover,
            serverMaxWindowBits,
            clientMaxWindowBits,
          };
          if (only(a)) yield a;
        }
      }
    }
  }
}

const CLIENT_SETTINGS: [
  name: string,
  options: Record<string, unknown>,
  valid: (a: Answer) => boolean,
][] = [
  [
    'the default offer (permessage-deflate; client_max_window_bits)',
    {},
    (a) => a.serverMaxWindowBits !== 10,
  ],
  [
    'an offer asking for no server context, a 10-bit server window, and hinting 12 bits',
    {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    },
    // RFC 7692 §7.1.1.1, §7.1.2.1, §7.1.2.2: what the server must accept, and no more.
    (a) =>
      a.serverNoContextTakeover &&
      a.serverMaxWindowBits !== undefined &&
      a.serverMaxWindowBits <= 10 &&
      (a.clientMaxWindowBits ?? 0) <= 12,
  ],
];

for (const [name, options, valid] of CLIENT_SETTINGS) {
  describe(`client 13.9: every valid answer to ${name}`, () => {
    let n = 0;
    for (const answer of answers(valid)) {
      const header = formatOffer(answer);
      const seed = ++n;
      it(`client 13.9.${seed}: ${header}`, async () => {
        const link = await openClientRole(header, {
          perMessageDeflate: { ...ENDPOINT_DEFLATE, ...options },
        });
        assert.deepEqual(paramSet(link.endpoint.extensions), paramSet(header));
        // A promise of the offer holds even when the answer leaves it out (RFC 7692 §7.1.1.2).
        if (options.clientNoContextTakeover === true) link.agreed!.clientNoContextTakeover = true;
        await run(link, mixedMessages(seed));
      });
    }
  });
}

// ---- 13.10: what must be refused or declined ----

describe('client 13.10: answers the client must refuse (RFC 7692 §7: fail the connection)', () => {
  const cases: [answer: string, options: Record<string, unknown> | false][] = [
    ['permessage-deflate; server_max_window_bits', {}],
    ['permessage-deflate; client_max_window_bits', {}],
    ['permessage-deflate; server_max_window_bits=7', {}],
    ['permessage-deflate; server_max_window_bits=16', {}],
    ['permessage-deflate; client_max_window_bits=010', {}],
    ['permessage-deflate; server_no_context_takeover=1', {}],
    ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', {}],
    ['permessage-deflate; unknown_parameter', {}],
    ['permessage-deflate, permessage-deflate', {}],
    ['x-webkit-deflate-frame', {}],
    ['permessage-deflate;', {}],
    ['permessage-deflate; =1', {}],
    ['permessage-deflate', false],
    ['permessage-deflate', { serverNoContextTakeover: true }],
    ['permessage-deflate', { serverMaxWindowBits: 10 }],
    ['permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }],
    ['permessage-deflate; client_max_window_bits=13', { clientMaxWindowBits: 12 }],
  ];
  for (const [i, [answer, options]] of cases.entries()) {
    const offered = options === false ? 'nothing offered' : JSON.stringify(options);
    it(`client 13.10.${i + 1}: "${answer}" (${offered}) → error, close 1006, nothing sent`, async () => {
      const fuzz = await listenRaw();
      try {
        const accepted = fuzz.accept(() => ({ extensions: answer }));
        const ws = new WebSocket(fuzz.url, {
          heartbeat: false,
          perMessageDeflate: options === false ? false : options,
        });
        const errors: Error[] = [];
        ws.on('error', (error) => errors.push(error));
        let opened = false;
        ws.on('open', () => {
          opened = true;
        });
        const closed = new Promise<number>((resolve) => ws.once('close', resolve));
        const { peer } = await accepted;
        assert.equal(await within(closed, 'the close event'), 1006);
        assert.equal(opened, false);
        assert.equal(errors.length, 1);
        assert.equal(
          (errors[0] as Error & { code?: string }).code,
          'WS_ERR_INVALID_EXTENSION_HEADER',
        );
        await peer.until('TCP closed', () => (peer.closed ? true : undefined));
        assert.deepEqual(peer.frames, [], 'the client wrote frames');
      } finally {
        fuzz.close();
      }
    });
  }
});

describe('server 13.10: offers the server declines; compression then stays off', () => {
  let server: EchoServer;
  before(async () => {
    server = await startDeflateServer({ maxPayload: 0, perMessageDeflate: ENDPOINT_DEFLATE });
  });
  after(() => server.close());
  const offers = [
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; client_max_window_bits=16',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; client_no_context_takeover; client_no_context_takeover',
    'permessage-deflate; unknown_parameter',
    'x-webkit-deflate-frame',
  ];
  for (const [i, offer] of offers.entries()) {
    it(`server 13.10.${i + 1}: "${offer}" → no extension; RSV1 then gets 1002`, async () => {
      const link = await openServerRole(offer, {}, server);
      try {
        assert.equal(link.header, undefined);
        await echo(link, [{ data: textCorpus(2000, i), binary: false }]);
        link.peer.send({ opcode: 0x1, payload: 'compressed?', rsv1: true });
        assert.equal(await link.peer.closeCode(), 1002);
      } finally {
        await link.close();
      }
    });
  }
});
