// The client's handling of server responses (issue 11, "fuzzing where there is none"): status
// lines, headers, 101 variants (missing or repeated Upgrade/Connection, bad
// Sec-WebSocket-Accept, unknown extensions and subprotocols, huge headers), byte mutations and
// splits. Whatever the server answers, the client ends either open or with `error` (a
// documented code) then `close` 1006: never a throw, a hang or a crash.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import {
  acceptServerResponse as acceptDeflate,
  resolveDeflateOptions,
} from '../../src/extensions/index.js';
import {
  HandshakeError,
  HandshakeErrorCode,
  validateServerResponse,
} from '../../src/handshake/index.js';
import { WebSocket } from '../../src/index.js';
import { cutStream, runs, type Split, splitArb } from '../helpers/fuzz.js';
import { acceptKey } from '../helpers/node-raw.js';
import { WAIT, within } from '../helpers/node-util.js';

/** Every code a failed handshake may carry: tsws's, or Node's for a connection cut short. */
const ALLOWED_CODES = new Set<string>([...Object.values(HandshakeErrorCode), 'ECONNRESET']);

const ACCEPT = '\u0000ACCEPT\u0000'; // replaced by the correct Sec-WebSocket-Accept

const statusLineArb = fc.oneof(
  { weight: 6, arbitrary: fc.constant('HTTP/1.1 101 Switching Protocols') },
  fc.constantFrom(
    'HTTP/1.1 101',
    'HTTP/1.1 101 ',
    'HTTP/1.0 101 Switching Protocols',
    'HTTP/2 101 Switching Protocols',
    'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols',
    'HTTP/1.1 200 OK',
    'HTTP/1.1 302 Found\r\nLocation: /elsewhere',
    'HTTP/1.1 401 Unauthorized',
    'HTTP/1.1 1010 Odd',
    'http/1.1 101 switching protocols',
    'HTTP/1.1  101 Switching Protocols',
    '',
    'SSH-2.0-OpenSSH',
  ),
  fc.integer({ min: 0, max: 999 }).map((status) => `HTTP/1.1 ${status} X`),
  fc.string({ unit: 'binary-ascii', maxLength: 40 }),
);

const valueArb = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 30 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', ' ', '\t', ',', ', ,', '\u00e9', '\r', '\n', '\u0000'),
);

/** One header line (name, value), biased to the ones the handshake reads. */
const headerArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(
    fc.constantFrom('Upgrade', 'upgrade', 'UPGRADE'),
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom('websocket', 'WebSocket', 'websocket, h2c', 'h2c', ''),
      },
      valueArb,
    ),
  ),
  fc.tuple(
    fc.constantFrom('Connection', 'connection'),
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom('Upgrade', 'keep-alive, Upgrade', 'close', 'upgrade,,'),
      },
      valueArb,
    ),
  ),
  fc.tuple(
    fc.constant('Sec-WebSocket-Accept'),
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(ACCEPT, `${ACCEPT}x`, 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=', ''),
      },
      valueArb,
    ),
  ),
  fc.tuple(
    fc.constant('Sec-WebSocket-Protocol'),
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('chat', 'other', 'chat, chat', 'chat, other', '') },
      valueArb,
    ),
  ),
  fc.tuple(
    fc.constant('Sec-WebSocket-Extensions'),
    fc.oneof(
      {
        weight: 4,
        arbitrary: fc.constantFrom(
          'permessage-deflate',
          'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
          'permessage-deflate; server_max_window_bits=8',
          'permessage-deflate; server_max_window_bits=7',
          'permessage-deflate; client_max_window_bits=16',
          'permessage-deflate; client_max_window_bits',
          'permessage-deflate, permessage-deflate',
          'permessage-deflate; x=1',
          'permessage-deflate; server_max_window_bits="10"',
          'permessage-deflate; server_max_window_bits="1 0"',
          'x-unknown',
          'x-unknown; a=b, permessage-deflate',
          ';',
          'permessage-deflate;;',
        ),
      },
      valueArb,
    ),
  ),
  fc.tuple(
    fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Set-Cookie', 'Location', 'X-Other'),
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('0', '5', 'chunked', '-1', '99999999999999999999') },
      valueArb,
    ),
  ),
  {
    weight: 1,
    arbitrary: fc.tuple(fc.string({ unit: 'binary-ascii', minLength: 0, maxLength: 12 }), valueArb),
  },
  // Over Node's 16 KiB header limit, or just under it.
  {
    weight: 1,
    arbitrary: fc
      .constantFrom(8 * 1024, 17 * 1024, 40 * 1024)
      .map((n): [string, string] => ['X-Huge', 'h'.repeat(n)]),
  },
);

interface Answer {
  status: string;
  headers: [string, string][];
  /** Leave out the correct handshake headers (only the generated ones are sent). */
  bare: boolean;
  eol: string;
  /** Bytes after the head (frames, or garbage). */
  tail: Uint8Array;
  /** Byte-level mutations of the whole answer: [a position (modulo the length), new byte or -1 to delete]. */
  mutations: [number, number][];
  split: Split;
  /** What the server does once it has written everything. */
  finish: 'end' | 'destroy' | 'keep';
  protocols: string[];
  deflate: boolean;
}

const answerArb: fc.Arbitrary<Answer> = fc.record({
  status: statusLineArb,
  headers: fc.array(headerArb, { maxLength: 4 }),
  bare: fc.boolean(),
  eol: fc.oneof({ weight: 12, arbitrary: fc.constant('\r\n') }, fc.constant('\n')),
  tail: fc.oneof(
    fc.constant(new Uint8Array(0)),
    fc.constant(Uint8Array.from([0x81, 0x02, 0x68, 0x69])),
    fc.uint8Array({ maxLength: 16 }),
  ),
  mutations: fc.oneof(
    { weight: 6, arbitrary: fc.constant<[number, number][]>([]) },
    fc.array(fc.tuple(fc.nat({ max: 0xffff }), fc.integer({ min: -1, max: 255 })), {
      minLength: 1,
      maxLength: 4,
    }),
  ),
  split: fc.oneof(fc.constant<Split>({ kind: 'whole' }), splitArb),
  finish: fc.constantFrom<Answer['finish']>('end', 'end', 'destroy', 'keep'),
  protocols: fc.constantFrom<string[]>([], ['chat'], ['chat', 'other']),
  deflate: fc.boolean(),
});

function render(answer: Answer, key: string): Buffer {
  const accept = acceptKey(key);
  const base: [string, string][] = answer.bare
    ? []
    : [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
        ['Sec-WebSocket-Accept', ACCEPT],
      ];
  const lines = [answer.status, ...[...base, ...answer.headers].map(([n, v]) => `${n}: ${v}`)];
  const head = Buffer.from(
    (lines.join(answer.eol) + answer.eol + answer.eol).split(ACCEPT).join(accept),
    'latin1',
  );
  const bytes = [...Buffer.concat([head, answer.tail])];
  for (const [at, value] of answer.mutations) {
    const i = at % (bytes.length + 1);
    if (value < 0) bytes.splice(i, 1);
    else bytes.splice(i, 0, value);
  }
  return Buffer.from(bytes);
}

describe('client: fuzzed server responses', () => {
  let server: net.Server;
  let port = 0;
  /** The answer the next connection gets. */
  let current: Answer | undefined;
  const sockets = new Set<net.Socket>();
  const outcomes = new Map<string, number>();

  before(async () => {
    server = net.createServer((socket) => {
      sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
      const answer = current;
      let head = '';
      const onData = async (chunk: Buffer) => {
        head += chunk.toString('latin1');
        const end = head.indexOf('\r\n\r\n');
        if (end < 0 || answer === undefined) return;
        socket.off('data', onData);
        const key = /^sec-websocket-key:\s*(\S+)/im.exec(head)?.[1] ?? '';
        // One write per piece, a turn apart, so that most arrive as separate reads.
        for (const piece of cutStream(render(answer, key), answer.split, 512)) {
          if (socket.destroyed) return;
          socket.write(piece);
          await new Promise((resolve) => setImmediate(resolve));
        }
        if (answer.finish === 'end') socket.end();
        else if (answer.finish === 'destroy') socket.destroy();
      };
      socket.on('data', onData);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  });

  after(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('through a 127.0.0.1 server: open, or error with a documented code then 1006', async (t) => {
    await fc.assert(
      fc.asyncProperty(answerArb, async (answer) => {
        current = answer;
        const ws = new WebSocket(`ws://127.0.0.1:${port}/`, answer.protocols, {
          // A server that keeps TCP open with an incomplete answer meets the deadline.
          handshakeTimeout: 250,
          perMessageDeflate: answer.deflate,
        });
        const events: string[] = [];
        let error: (Error & { code?: unknown }) | undefined;
        ws.on('open', () => {
          events.push('open');
          ws.terminate();
        });
        ws.on('error', (e: Error) => {
          events.push('error');
          error ??= e;
        });
        const [code] = await within(
          new Promise<[number]>((resolve) => ws.once('close', (c: number) => resolve([c]))),
          'the client to close',
          WAIT,
        );
        assert.equal(ws.readyState, WebSocket.CLOSED);
        if (events[0] === 'open') {
          outcomes.set('open', (outcomes.get('open') ?? 0) + 1);
          return;
        }
        assert.deepEqual(events, ['error'], 'error once, and never open');
        assert.equal(code, 1006);
        assert.ok(error !== undefined);
        assert.ok(
          typeof error.code === 'string' && ALLOWED_CODES.has(error.code),
          `undocumented error: ${String(error.code)} ${error.message}`,
        );
        outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
        console.log(
          error.message,
          JSON.stringify({
            ...answer,
            headers: answer.headers.map(([n, v]) => [n, v.slice(0, 20)]),
          }),
        );
      }),
      { numRuns: runs(150) },
    );
    t.diagnostic([...outcomes].map(([k, n]) => `${k}: ${n}`).join(', '));
  });

  it('validateServerResponse and the deflate negotiation: a result or a HandshakeError, never a throw', () => {
    const key = 'dGhlIHNhbXBsZSBub25jZQ==';
    const headerValueArb = fc.oneof(
      valueArb,
      fc.constant(acceptKey(key)),
      fc.array(valueArb, { maxLength: 3 }),
    );
    const deflateOptions = resolveDeflateOptions(true);
    fc.assert(
      fc.property(
        fc.option(fc.integer({ min: -1, max: 1000 }), { nil: undefined }),
        fc.dictionary(
          fc.constantFrom(
            'upgrade',
            'connection',
            'sec-websocket-accept',
            'sec-websocket-protocol',
            'sec-websocket-extensions',
            'x-other',
            '__proto__',
          ),
          headerValueArb,
        ),
        fc.constantFrom<string[]>([], ['chat'], ['chat', 'other']),
        fc.boolean(),
        (statusCode, headers, protocols, extensionsOffered) => {
          const result = validateServerResponse(
            { statusCode, headers: headers as Record<string, string | string[]> },
            { key, protocols, extensionsOffered },
          );
          if (result instanceof HandshakeError) {
            assert.ok(ALLOWED_CODES.has(result.code), result.code);
            return;
          }
          // Accepted: what RFC 6455 §4.1 requires of the answer holds.
          assert.equal(statusCode, 101);
          assert.ok(result.protocol === '' || protocols.includes(result.protocol));
          const negotiated = acceptDeflate(result.extensions, deflateOptions);
          if (negotiated instanceof HandshakeError) {
            assert.ok(ALLOWED_CODES.has(negotiated.code), negotiated.code);
          }
        },
      ),
      { numRuns: runs(2000) },
    );
  });
});
