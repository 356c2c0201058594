// Fuzzing the permessage-deflate codec (RFC 7692 §7.2) and its negotiation end to end:
// round trips with random parameters (negotiated from random offers), random and mutated
// compressed streams (never a throw or a hang: a message, 1007 or 1009), and decompression bombs
// (1009 at maxPayload, with the inflated output counted as zlib produces it). CI counts are
// small; `npm run fuzz` multiplies them (scripts/fuzz.mjs).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import fc from 'fast-check';
import {
  acceptServerResponse,
  clientOffer,
  type DeflateParams,
  negotiateServer,
  PerMessageDeflate,
  resolveDeflateOptions,
} from '../../src/extensions/index.js';
import {
  type ExtensionOffer,
  HandshakeError,
  parseExtensionHeader,
} from '../../src/handshake/index.js';
import { nodeDeflatePort } from '../../src/node/extensions/zlib-port.js';
import { type DecodeBudget, ErrorCode, PeerError } from '../../src/protocol/index.js';
import { runs } from '../helpers/fuzz.js';

const KiB = 1024;
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Node's zlib hands out output in chunks of at most this (zlib.constants.Z_DEFAULT_CHUNK). */
const ZLIB_CHUNK = 16 * KiB;

type Outcome = { ok: Buffer } | { error: Error };

function compress(c: PerMessageDeflate, data: Uint8Array, fin = true): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.encode(data, fin, (error, out) => (error ? reject(error) : resolve(out!))),
  );
}

/** Decompresses and counts what zlib produced (through the budget hook) and the callbacks. */
function decompress(
  c: PerMessageDeflate,
  data: Buffer,
): Promise<Outcome & { produced: number; calls: number }> {
  return new Promise((resolve) => {
    let produced = 0;
    let calls = 0;
    const budget: DecodeBudget = {
      started() {},
      end() {},
      grow(bytes: number) {
        produced += bytes;
        return 0;
      },
    };
    c.decode(
      data,
      (error, out) => {
        calls++;
        // A second call would be a bug: the promise is settled already, so count it.
        setImmediate(() =>
          resolve(
            error !== null
              ? { error, produced, calls }
              : { ok: out!, produced, calls: calls as number },
          ),
        );
      },
      budget,
    );
  });
}

const bitsArb = fc.integer({ min: 8, max: 15 });
const paramsArb: fc.Arbitrary<DeflateParams> = fc.record({
  serverNoContextTakeover: fc.boolean(),
  clientNoContextTakeover: fc.boolean(),
  serverMaxWindowBits: bitsArb,
  clientMaxWindowBits: bitsArb,
});
const optionsArb = fc.record({
  level: fc.integer({ min: 0, max: 9 }),
  memLevel: fc.integer({ min: 1, max: 9 }),
});
/** Payloads that compress well (few distinct bytes), poorly (random), or are empty. */
const payloadArb = fc.oneof(
  fc.uint8Array({ maxLength: 4 * KiB }),
  fc
    .tuple(fc.uint8Array({ minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 40 * KiB }))
    .map(([unit, n]) => {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i++) out[i] = unit[i % unit.length]!;
      return new Uint8Array(out);
    }),
);

function pair(params: DeflateParams, options: { level: number; memLevel: number }, max = 0) {
  const resolved = resolveDeflateOptions({ ...options, threshold: 0 });
  return {
    client: new PerMessageDeflate(params, 'client', resolved, max, nodeDeflatePort),
    server: new PerMessageDeflate(params, 'server', resolved, max, nodeDeflatePort),
  };
}

/** Either a message within `max`, or a peer error with 1007 (bad data) or 1009 (too big). */
function assertContained(outcome: Outcome & { produced: number; calls: number }, max: number) {
  assert.equal(outcome.calls, 1, 'the callback is called exactly once');
  if ('ok' in outcome) {
    assert.ok(outcome.ok.length <= max);
    return;
  }
  assert.ok(outcome.error instanceof PeerError, String(outcome.error));
  const error = outcome.error as PeerError;
  if (error.closeCode === 1007) assert.equal(error.code, ErrorCode.InvalidCompressedData);
  else {
    assert.equal(error.closeCode, 1009);
    assert.equal(error.code, ErrorCode.MessageTooBig);
  }
  // zlib is stopped at the limit: at most one chunk of output past it is ever produced.
  assert.ok(outcome.produced <= max + ZLIB_CHUNK, `${outcome.produced} produced, limit ${max}`);
}

describe('permessage-deflate codec fuzzing', () => {
  it('round trips any messages, in both directions, with any agreed parameters', async () => {
    await fc.assert(
      fc.asyncProperty(
        paramsArb,
        optionsArb,
        fc.array(fc.tuple(payloadArb, fc.boolean()), { minLength: 1, maxLength: 5 }),
        async (params, options, messages) => {
          const { client, server } = pair(params, options);
          try {
            for (const [payload, fromClient] of messages) {
              const [from, to] = fromClient ? [client, server] : [server, client];
              const wire = await compress(from, payload);
              const got = await decompress(to, wire);
              assert.ok('ok' in got, 'error' in got ? String(got.error) : '');
              assert.ok(got.ok.equals(payload));
            }
          } finally {
            client.close();
            server.close();
          }
        },
      ),
      { numRuns: runs(40) },
    );
  });

  it('a message compressed in fragments inflates whole, whatever the cuts', async () => {
    await fc.assert(
      fc.asyncProperty(
        paramsArb,
        payloadArb,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
        async (params, payload, cuts) => {
          const { client, server } = pair(params, { level: 6, memLevel: 8 });
          try {
            const points = cuts.map((f) => Math.floor(f * payload.length)).sort((a, b) => a - b);
            const parts: Buffer[] = [];
            let prev = 0;
            for (const p of points) {
              parts.push(await compress(client, payload.subarray(prev, p), false));
              prev = p;
            }
            parts.push(await compress(client, payload.subarray(prev), true));
            const got = await decompress(server, Buffer.concat(parts));
            assert.ok('ok' in got && got.ok.equals(payload));
          } finally {
            client.close();
            server.close();
          }
        },
      ),
      { numRuns: runs(30) },
    );
  });

  it('random bytes as a compressed message: a message, 1007 or 1009, never a throw or hang', async () => {
    await fc.assert(
      fc.asyncProperty(
        paramsArb,
        fc.uint8Array({ maxLength: 2 * KiB }),
        fc.integer({ min: 1, max: 64 * KiB }),
        async (params, bytes, max) => {
          const { client, server } = pair(params, { level: 6, memLevel: 8 }, max);
          try {
            assertContained(await decompress(server, Buffer.from(bytes)), max);
            // The codec still works for the next message (a new stream after a failure).
            if (params.clientNoContextTakeover && max >= 2) {
              const next = await decompress(server, await compress(client, Buffer.from('ok')));
              assert.ok('ok' in next && next.ok.toString() === 'ok');
            }
          } finally {
            client.close();
            server.close();
          }
        },
      ),
      { numRuns: runs(150) },
    );
  });

  it('valid streams flipped, cut, spliced or given a final block: contained', async () => {
    const mutationArb = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
      fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
      fc.record({
        kind: fc.constant('insert' as const),
        at: fc.nat(),
        bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
      }),
      fc.record({ kind: fc.constant('tail' as const) }),
      fc.record({ kind: fc.constant('final' as const) }),
    );
    await fc.assert(
      fc.asyncProperty(
        paramsArb,
        payloadArb,
        fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 64 * KiB }),
        async (params, payload, mutations, max) => {
          const { client, server } = pair(params, { level: 6, memLevel: 8 }, max);
          try {
            let wire: Buffer = Buffer.from(await compress(client, payload));
            for (const m of mutations) wire = mutate(wire, m);
            assertContained(await decompress(server, wire), max);
          } finally {
            client.close();
            server.close();
          }
        },
      ),
      { numRuns: runs(150) },
    );
  });

  it('bombs: 1009 at maxPayload, inflation stopped within one zlib chunk of it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 16 }),
        fc.integer({ min: 1, max: 256 * KiB }),
        fc.integer({ min: 9, max: 15 }),
        fc.uint8Array({ minLength: 1, maxLength: 4 }),
        async (mib, max, windowBits, unit) => {
          const size = mib * 1024 * KiB;
          const plain = Buffer.allocUnsafe(size);
          for (let i = 0; i < size; i++) plain[i] = unit[i % unit.length]!;
          const bomb = deflate(plain, windowBits);
          const params: DeflateParams = {
            serverNoContextTakeover: false,
            clientNoContextTakeover: false,
            serverMaxWindowBits: 15,
            clientMaxWindowBits: windowBits,
          };
          const { client, server } = pair(params, { level: 6, memLevel: 8 }, max);
          try {
            const got = await decompress(server, bomb);
            assertContained(got, max);
            assert.ok('error' in got && (got.error as PeerError).closeCode === 1009);
          } finally {
            client.close();
            server.close();
          }
        },
      ),
      { numRuns: runs(12) },
    );
  });

  it('random offers: a negotiated agreement always works in both directions', async () => {
    const valueArb = fc.oneof(
      fc.constant<true>(true),
      fc.constantFrom('8', '9', '10', '12', '15', '7', '16', '08', '', 'x', '"10"'),
    );
    const nameArb = fc.constantFrom(
      'server_no_context_takeover',
      'client_no_context_takeover',
      'server_max_window_bits',
      'client_max_window_bits',
      'unknown_param',
    );
    const offerArb: fc.Arbitrary<ExtensionOffer> = fc.record({
      name: fc.constantFrom('permessage-deflate', 'permessage-deflate', 'x-webkit-deflate-frame'),
      params: fc.array(fc.tuple(nameArb, valueArb), { maxLength: 5 }),
    });
    const serverOptionsArb = fc.record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bitsArb,
        clientMaxWindowBits: bitsArb,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(offerArb, { maxLength: 3 }),
        serverOptionsArb,
        payloadArb,
        async (offers, serverOptions, payload) => {
          const options = resolveDeflateOptions({ ...serverOptions, threshold: 0 });
          const agreed = negotiateServer(offers, options);
          if (agreed === undefined) return;
          // The response parses, and a client that made the chosen offer accepts it.
          const response = parseExtensionHeader(agreed.response);
          assert.ok(!(response instanceof HandshakeError));
          const params = agreed.params;
          for (const bits of [params.serverMaxWindowBits, params.clientMaxWindowBits]) {
            assert.ok(bits >= 8 && bits <= 15);
          }
          const { client, server } = pair(params, { level: 6, memLevel: 8 });
          try {
            for (const [from, to] of [
              [client, server],
              [server, client],
            ] as const) {
              const got = await decompress(to, await compress(from, payload));
              assert.ok('ok' in got && got.ok.equals(payload));
            }
          } finally {
            client.close();
            server.close();
          }
        },
      ),
      { numRuns: runs(100) },
    );
  });

  it("random client options: the server accepts the client's offer and both agree", async () => {
    const clientOptionsArb = fc.record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bitsArb,
        clientMaxWindowBits: fc.oneof(fc.constant<true>(true), bitsArb),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(clientOptionsArb, clientOptionsArb, (clientOpts, serverOpts) => {
        const clientResolved = resolveDeflateOptions(clientOpts);
        const serverResolved = resolveDeflateOptions({
          ...serverOpts,
          clientMaxWindowBits:
            serverOpts.clientMaxWindowBits === true ? 15 : serverOpts.clientMaxWindowBits,
        });
        const offers = parseExtensionHeader(clientOffer(clientResolved));
        assert.ok(!(offers instanceof HandshakeError));
        const agreed = negotiateServer(offers, serverResolved);
        if (agreed === undefined) return;
        const response = parseExtensionHeader(agreed.response);
        assert.ok(!(response instanceof HandshakeError));
        const clientSide = acceptServerResponse(response, clientResolved);
        assert.ok(!(clientSide instanceof HandshakeError), String(clientSide));
        assert.deepEqual(clientSide, agreed.params);
      }),
      { numRuns: runs(300) },
    );
  });
});

function deflate(data: Buffer, windowBits: number): Buffer {
  const out = zlib.deflateRawSync(data, { windowBits, flush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - TAIL.length);
}

type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'cut'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'tail' }
  | { kind: 'final' };

function mutate(wire: Buffer, m: Mutation): Buffer {
  const at =
    wire.length === 0 ? 0 : m.kind === 'tail' || m.kind === 'final' ? 0 : m.at % wire.length;
  switch (m.kind) {
    case 'flip': {
      const out = Buffer.from(wire);
      if (out.length > 0) out[at] = out[at]! ^ (1 << m.bit);
      return out;
    }
    case 'cut':
      return wire.subarray(0, at);
    case 'insert':
      return Buffer.concat([wire.subarray(0, at), m.bytes, wire.subarray(at)]);
    case 'tail':
      // A sender that left the tail on (RFC 7692 §7.2.1 says remove it): an empty block more.
      return Buffer.concat([wire, TAIL]);
    case 'final':
      // An empty final stored block: the peer's DEFLATE stream ends (RFC 7692 §7.2.3.4).
      return Buffer.concat([wire, Buffer.from([0x01, 0x00, 0x00, 0xff, 0xff])]);
  }
}
