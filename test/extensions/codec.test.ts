// The permessage-deflate codec alone (src/extensions/permessage-deflate/codec.ts): round trips,
// the wire format (tail removed, RFC 7692 §7.2.1), context takeover per direction, window bits,
// the shared streams of no-context-takeover, the output limit and invalid data, and the
// process-wide zlib limiter. Every compressed output is also checked with node:zlib directly.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import {
  type DeflateParams,
  Limiter,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
  resolveDeflateOptions,
  zlibLimiter,
} from '../../src/extensions/index.js';
import { nodeDeflatePort } from '../../src/node/extensions/zlib-port.js';
import { ErrorCode, PeerError, UsageError } from '../../src/protocol/index.js';
import {
  deflateMessage,
  inflateMessage,
  MiB,
  randomPayload,
  TAIL,
  textCorpus,
} from '../helpers/deflate-wire.js';

const DEFAULT: DeflateParams = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

type Role = 'server' | 'client';

function codec(
  role: Role,
  params: Partial<DeflateParams> = {},
  options: PerMessageDeflateOptions = {},
  maxPayload = 0,
): PerMessageDeflate {
  return new PerMessageDeflate(
    { ...DEFAULT, ...params },
    role,
    resolveDeflateOptions(options),
    maxPayload,
    nodeDeflatePort,
  );
}

function compress(c: PerMessageDeflate, data: Uint8Array, fin = true): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.encode(data, fin, (error, out) => (error ? reject(error) : resolve(out!))),
  );
}

function decompress(c: PerMessageDeflate, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.decode(data, (error, out) => (error ? reject(error) : resolve(out!))),
  );
}

/** Settles with the error, or fails if there is none. */
function decompressError(c: PerMessageDeflate, data: Buffer): Promise<Error> {
  return new Promise((resolve, reject) =>
    c.decode(data, (error) =>
      error ? resolve(error) : reject(new Error('decompressed without an error')),
    ),
  );
}

const SIZES = [0, 1, 2, 10, 100, 1023, 1024, 4096, 16_383, 65_535, 65_536, 100_000, 262_144, MiB];

/** A message whose repeats sit 600 bytes apart: beyond a 512-byte (9-bit) window. */
function farRepeats(size: number): Buffer {
  const block = randomPayload(600, 42);
  return Buffer.alloc(size, block);
}

const pairs: PerMessageDeflate[] = [];
function pair(params: Partial<DeflateParams> = {}, options: PerMessageDeflateOptions = {}) {
  const server = codec('server', params, options);
  const client = codec('client', params, options);
  pairs.push(server, client);
  return { server, client };
}
afterEach(() => {
  for (const c of pairs.splice(0)) c.close();
});

/** A message compressed with context takeover after another: it refers to the first. */
async function secondMessage(): Promise<Buffer> {
  const sender = codec('server');
  const text = textCorpus(3000, 5);
  await compress(sender, text);
  const second = await compress(sender, text);
  sender.close();
  return second;
}

describe('permessage-deflate codec', () => {
  describe('round trips', () => {
    for (const [kind, make] of [
      ['compressible text', (n: number) => textCorpus(n, n + 1)],
      ['random bytes', (n: number) => randomPayload(n, n + 7)],
    ] as const) {
      it(`${kind}: ${SIZES.length} sizes from 0 to 1 MiB, both directions, with zlib as the judge`, async () => {
        const { server, client } = pair();
        for (const size of SIZES) {
          const data = make(size);
          const down = await compress(server, data);
          assert.ok((await decompress(client, down)).equals(data), `server → client, ${size} B`);
          const up = await compress(client, data);
          assert.ok((await decompress(server, up)).equals(data), `client → server, ${size} B`);
        }
      });
    }

    it('a fresh stream produces exactly zlib output without its 4-byte tail (RFC 7692 §7.2.1)', async () => {
      for (const size of [1, 1000, 70_000]) {
        const data = textCorpus(size, 3);
        const out = await compress(codec('server'), data);
        assert.deepEqual(out, deflateMessage(data), `${size} B`);
        assert.ok(!out.subarray(-4).equals(TAIL), 'the tail is still there');
        assert.ok(inflateMessage(out).equals(data));
      }
    });

    it('empty messages and empty last fragments between others keep the stream valid (0x00 each)', async () => {
      for (const params of [{}, { serverNoContextTakeover: true }]) {
        const c = codec('server', params);
        const peer = zlib.createInflateRaw();
        const inflate = (payload: Buffer) =>
          new Promise<Buffer>((resolve, reject) => {
            const chunks: Buffer[] = [];
            const onData = (chunk: Buffer) => chunks.push(chunk);
            peer.on('data', onData);
            peer.once('error', reject);
            peer.write(Buffer.concat([payload, TAIL]));
            peer.flush(zlib.constants.Z_SYNC_FLUSH, () => {
              peer.off('data', onData);
              resolve(Buffer.concat(chunks));
            });
          });
        const text = textCorpus(3000, 4);
        for (const data of [text, Buffer.alloc(0), Buffer.alloc(0), text]) {
          const out = await compress(c, data);
          if (data.length === 0) assert.deepEqual([...out], [0x00]);
          assert.ok((await inflate(out)).equals(data), JSON.stringify(params));
        }
        // A message in fragments whose last one is empty.
        const parts = [await compress(c, text, false), await compress(c, Buffer.alloc(0), true)];
        assert.ok((await inflate(Buffer.concat(parts))).equals(text));
        assert.ok((await inflate(await compress(c, text))).equals(text), 'and after it');
        peer.close();
        c.close();
      }
    });

    it('the examples of RFC 7692 §7.2.3 decompress, in one stream with context takeover', async () => {
      const c = codec('server');
      const hello = (bytes: number[]) => decompress(c, Buffer.from(bytes));
      // §7.2.3.1: a message using a compressed block.
      assert.equal((await hello([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).toString(), 'Hello');
      // §7.2.3.2: the same message again, referring to the first through the shared window.
      assert.equal((await hello([0xf2, 0x00, 0x11, 0x00, 0x00])).toString(), 'Hello');
      // §7.2.3.3: a block with no compression.
      const stored = [0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00];
      assert.equal((await hello(stored)).toString(), 'Hello');
      // §7.2.3.5: two DEFLATE blocks in one message.
      const two = [0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00];
      assert.equal((await hello(two)).toString(), 'Hello');
      // §7.2.3.4: a block with BFINAL set ends the peer's DEFLATE stream...
      assert.equal(
        (await hello([0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00])).toString(),
        'Hello',
      );
      // ...so the next messages start a new one (as in ws), and are not lost.
      assert.equal((await hello([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00])).toString(), 'Hello');
      const finished = zlib.deflateRawSync(Buffer.from('finished with Z_FINISH'));
      for (let i = 0; i < 3; i++) {
        const out = await decompress(c, Buffer.concat([finished, Buffer.from([0x00])]));
        assert.equal(out.toString(), 'finished with Z_FINISH', `#${i}`);
      }
      const text = textCorpus(5000, 2);
      assert.ok((await decompress(c, deflateMessage(text))).equals(text));
      c.close();
    });

    it('a BFINAL message without context takeover: the pooled stream serves the next message', async () => {
      const params = { clientNoContextTakeover: true };
      const finished = Buffer.concat([zlib.deflateRawSync(Buffer.from('final')), Buffer.from([0])]);
      for (let i = 0; i < 3; i++) {
        const c = codec('server', params);
        assert.equal((await decompress(c, finished)).toString(), 'final');
        const text = textCorpus(3000, i);
        assert.ok((await decompress(c, deflateMessage(text))).equals(text), `#${i}`);
        c.close();
      }
    });

    it('an empty message compresses to a single 0x00 byte (RFC 7692 §7.2.3.6)', async () => {
      const out = await compress(codec('client'), Buffer.alloc(0));
      assert.deepEqual([...out], [0x00]);
      assert.equal(inflateMessage(out).length, 0);
    });

    it('a message compressed in fragments: each flush ends in the tail but the last, and they inflate as one', async () => {
      const { server, client } = pair();
      const data = textCorpus(50_000, 9);
      const parts = [data.subarray(0, 10), data.subarray(10, 20_000), data.subarray(20_000)];
      const outs: Buffer[] = [];
      for (let i = 0; i < parts.length; i++) {
        outs.push(await compress(client, parts[i]!, i === parts.length - 1));
      }
      assert.ok(outs[0]!.subarray(-4).equals(TAIL), 'an intermediate flush keeps its tail');
      assert.ok(outs[1]!.subarray(-4).equals(TAIL), 'an intermediate flush keeps its tail');
      const joined = Buffer.concat(outs);
      assert.ok(inflateMessage(joined).equals(data), 'zlib inflates the joined fragments');
      assert.ok((await decompress(server, joined)).equals(data));
      // The stream goes on with the next message.
      const again = await compress(client, data);
      assert.ok((await decompress(server, again)).equals(data));
    });

    it('text with multi-byte characters survives any fragment cut', async () => {
      const { server, client } = pair();
      const data = Buffer.from('héllo wörld ✓ 🙂 '.repeat(200));
      for (const cut of [1, 2, 3, 17, 18, 19, 20]) {
        const a = await compress(client, data.subarray(0, cut), false);
        const b = await compress(client, data.subarray(cut), true);
        assert.ok((await decompress(server, Buffer.concat([a, b]))).equals(data), `cut ${cut}`);
      }
    });
  });

  describe('context takeover, per direction (RFC 7692 §7.1.1)', () => {
    const message = textCorpus(4000, 11);

    async function twice(c: PerMessageDeflate): Promise<[Buffer, Buffer]> {
      return [await compress(c, message), await compress(c, message)];
    }

    it('with takeover (the default) a repeated message compresses smaller the second time', async () => {
      for (const role of ['server', 'client'] as const) {
        const [first, second] = await twice(codec(role));
        assert.ok(
          second.length < first.length / 4,
          `${role}: ${first.length} B then ${second.length} B`,
        );
      }
    });

    const combos: [string, Partial<DeflateParams>, { server: boolean; client: boolean }][] = [
      [
        'server_no_context_takeover',
        { serverNoContextTakeover: true },
        { server: false, client: true },
      ],
      [
        'client_no_context_takeover',
        { clientNoContextTakeover: true },
        { server: true, client: false },
      ],
      [
        'both',
        { serverNoContextTakeover: true, clientNoContextTakeover: true },
        { server: false, client: false },
      ],
    ];
    for (const [name, params, takeover] of combos) {
      it(`${name}: each end keeps or resets its own direction's context, and the peer inflates it`, async () => {
        const { server, client } = pair(params);
        for (const [role, sender, receiver] of [
          ['server', server, client],
          ['client', client, server],
        ] as const) {
          const [first, second] = await twice(sender);
          if (takeover[role]) {
            assert.ok(second.length < first.length / 4, `${role} keeps its context`);
          } else {
            assert.deepEqual(second, first, `${role} starts every message afresh`);
            // Standalone: zlib inflates it with no earlier message.
            assert.ok(inflateMessage(second).equals(message));
          }
          assert.ok((await decompress(receiver, first)).equals(message));
          assert.ok((await decompress(receiver, second)).equals(message));
        }
      });
    }

    it('a receiver with takeover inflates messages that refer to earlier ones (100 in a row)', async () => {
      const { server, client } = pair();
      for (let i = 0; i < 100; i++) {
        const data = textCorpus(500 + i * 37, i % 5);
        assert.ok((await decompress(server, await compress(client, data))).equals(data), `#${i}`);
      }
    });
  });

  describe('window bits (RFC 7692 §7.1.2)', () => {
    for (const bits of [9, 10, 12]) {
      for (const role of ['server', 'client'] as const) {
        it(`a ${role} limited to ${bits} bits compresses what a ${bits}-bit inflater accepts`, async () => {
          const params =
            role === 'server' ? { serverMaxWindowBits: bits } : { clientMaxWindowBits: bits };
          const c = codec(role, params);
          const data = farRepeats(20_000);
          const out = await compress(c, data);
          assert.ok(inflateMessage(out, bits).equals(data));
          // Its context, carried over to a second message, stays inside the window too.
          const inflater = zlib.createInflateRaw({ windowBits: bits });
          const first = await new Promise<Buffer>((resolve, reject) => {
            const chunks: Buffer[] = [];
            inflater.on('data', (c: Buffer) => chunks.push(c));
            inflater.once('error', reject);
            inflater.write(Buffer.concat([out, TAIL]));
            inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve(Buffer.concat(chunks)));
          });
          assert.ok(first.equals(data));
          inflater.close();
        });
      }
    }

    it('control: 15-bit output of the same data does not inflate with a 9-bit window', async () => {
      const out = await compress(codec('client'), farRepeats(20_000));
      assert.throws(() => inflateMessage(out, 9), /distance too far back|invalid/);
    });

    for (const role of ['server', 'client'] as const) {
      it(`a ${role} limited to 8 bits compresses (zlib's 9-bit window) what an 8-bit inflater accepts`, async () => {
        const params = role === 'server' ? { serverMaxWindowBits: 8 } : { clientMaxWindowBits: 8 };
        const c = codec(role, params);
        // zlib's 9-bit deflate never reaches back further than 250 bytes: repeats 251 bytes
        // apart stay literal, and what it sends inflates with exactly 256 bytes of window.
        const inflater = zlib.createInflateRaw({ windowBits: 8 });
        for (const [i, data] of [
          textCorpus(20_000, 1),
          farRepeats(5000),
          textCorpus(20_000, 1),
        ].entries()) {
          const out = await compress(c, data);
          assert.ok(out.length < data.length || i === 1, `message ${i} was not compressed`);
          const chunks: Buffer[] = [];
          const onData = (chunk: Buffer) => chunks.push(chunk);
          inflater.on('data', onData);
          await new Promise<void>((resolve, reject) => {
            inflater.once('error', reject);
            inflater.write(Buffer.concat([out, TAIL]));
            inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => resolve());
          });
          inflater.off('data', onData);
          assert.ok(Buffer.concat(chunks).equals(data), `message ${i}`);
        }
        inflater.close();
      });
    }

    it('an 8-bit peer: what zlib sends with windowBits 8 (really 9) still inflates', async () => {
      const data = textCorpus(10_000, 2);
      const out = deflateMessage(data, 9);
      assert.ok((await decompress(codec('client', { serverMaxWindowBits: 8 }), out)).equals(data));
    });
  });

  describe('shared streams without context takeover', () => {
    it('200 codecs compressing and inflating at once, in both directions, all correct', async () => {
      const params = { serverNoContextTakeover: true, clientNoContextTakeover: true };
      const codecs = Array.from({ length: 100 }, () => pair(params));
      const fresh = codecs.map((_, i) => deflateMessage(textCorpus(2000 + i * 97, i)).length);
      const results = await Promise.all(
        codecs.map(async ({ server, client }, i) => {
          const data = textCorpus(2000 + i * 97, i);
          for (let k = 0; k < 5; k++) {
            const down = await compress(server, data);
            // A pooled stream was reset: the message inflates alone, and is no smaller than a
            // fresh stream's (zlib's output after a reset may differ by a few bytes).
            assert.ok(inflateMessage(down).equals(data), `#${i}: not standalone`);
            assert.ok(down.length >= fresh[i]! - 16, `#${i}: ${down.length} B < ${fresh[i]} B`);
            assert.ok((await decompress(client, down)).equals(data));
            const up = await compress(client, data);
            assert.ok((await decompress(server, up)).equals(data));
          }
          return true;
        }),
      );
      assert.equal(results.length, 100);
    });

    it('a stream that failed (invalid data) is not given to another connection', async () => {
      const params = { serverNoContextTakeover: true, clientNoContextTakeover: true };
      const bad = codec('server', params);
      const error = await decompressError(bad, Buffer.from([0xff, 0xff, 0xff]));
      assert.equal((error as PeerError).closeCode, 1007);
      for (let i = 0; i < 20; i++) {
        const good = codec('server', params);
        const data = textCorpus(3000, i);
        assert.ok((await decompress(good, deflateMessage(data))).equals(data), `#${i}`);
        good.close();
      }
      bad.close();
    });

    it('a stream cut at maxPayload is not given to another connection', async () => {
      const params = { serverNoContextTakeover: true, clientNoContextTakeover: true };
      const small = codec('server', params, {}, 1000);
      const error = await decompressError(small, deflateMessage(Buffer.alloc(100_000)));
      assert.equal((error as PeerError).closeCode, 1009);
      const good = codec('server', params);
      const data = textCorpus(50_000, 1);
      assert.ok((await decompress(good, deflateMessage(data))).equals(data));
      small.close();
      good.close();
    });
  });

  describe('limits and faults', () => {
    it('inflation stops past maxPayload: 1009, and a message of exactly maxPayload passes', async () => {
      const limit = 64 * 1024;
      const c = codec('server', {}, {}, limit);
      const exact = Buffer.alloc(limit, 'a');
      assert.ok((await decompress(c, deflateMessage(exact))).equals(exact));
      const c2 = codec('server', {}, {}, limit);
      const error = await decompressError(c2, deflateMessage(Buffer.alloc(limit + 1, 'a')));
      assert.ok(error instanceof PeerError);
      assert.equal(error.closeCode, 1009);
      c.close();
      c2.close();
    });

    it('a 64 MiB bomb (64 KiB compressed) against maxPayload 1 MiB: 1009, inflation stops at the limit, memory bounded', async () => {
      const bomb = deflateMessage(Buffer.alloc(64 * MiB));
      assert.ok(bomb.length < 100 * 1024, `bomb of ${bomb.length} B`);
      const c = codec('server', {}, {}, MiB);
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }, 1);
      // Counts what zlib inflates, to see that it stops at the limit (not after the whole bomb).
      const proto = zlib.InflateRaw.prototype as unknown as { push(chunk: Buffer | null): boolean };
      const push = proto.push;
      let inflated = 0;
      proto.push = function (this: zlib.InflateRaw, chunk: Buffer | null) {
        if (chunk !== null) inflated += chunk.length;
        return push.call(this, chunk);
      };
      let error: Error;
      try {
        error = await decompressError(c, bomb);
      } finally {
        proto.push = push;
        clearInterval(sampler);
      }
      peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      assert.equal((error as PeerError).closeCode, 1009);
      assert.ok(inflated > MiB && inflated < MiB + 256 * 1024, `zlib inflated ${inflated} B`);
      assert.ok(peak - before < 16 * MiB, `arrayBuffers grew by ${(peak - before) / MiB} MiB`);
      c.close();
    });

    for (const [name, bytes] of [
      ['a reserved block type', [0xff, 0xff, 0xff]],
      ['a stored block whose LEN and NLEN disagree', [0x00, 0x05, 0x00, 0x00, 0x00, 1, 2, 3, 4, 5]],
      ['a back-reference before the start', 'backref'],
    ] as const) {
      it(`invalid deflate data (${name}): an error with close code 1007`, async () => {
        const data = bytes === 'backref' ? await secondMessage() : Buffer.from(bytes);
        const error = await decompressError(codec('client'), data);
        assert.ok(error instanceof PeerError, String(error));
        assert.equal(error.closeCode, 1007);
      });
    }

    it('after close(): compress and decompress call back with an error', async () => {
      const c = codec('server');
      c.close();
      await assert.rejects(compress(c, Buffer.from('x')));
      await assert.rejects(decompress(c, deflateMessage(Buffer.from('x'))));
    });

    it('close() while a job runs: the job still calls back', async () => {
      const c = codec('server');
      const job = compress(c, textCorpus(500_000, 1)).then(
        () => 'done',
        () => 'error',
      );
      c.close();
      assert.match(await job, /done|error/);
    });
  });

  describe('the zlib limiter', () => {
    it('Limiter runs at most `concurrency` jobs, in order, and a job done twice counts once', async () => {
      const limiter = new Limiter(3);
      let running = 0;
      let peak = 0;
      const order: number[] = [];
      const all: Promise<void>[] = [];
      for (let i = 0; i < 20; i++) {
        all.push(
          new Promise((resolve) =>
            limiter.run((done) => {
              order.push(i);
              running++;
              peak = Math.max(peak, running);
              setTimeout(() => {
                running--;
                done();
                done();
                resolve();
              }, 2);
            }),
          ),
        );
      }
      await Promise.all(all);
      assert.equal(peak, 3);
      assert.deepEqual(order, [...Array(20).keys()]);
    });

    /** Counts zlib jobs in flight through the process-wide limiter while `work` runs. */
    async function peakOf(work: () => Promise<unknown>): Promise<number> {
      const original = zlibLimiter.run;
      let running = 0;
      let peak = 0;
      zlibLimiter.run = function (this: Limiter, job) {
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

    async function manyJobs(): Promise<void> {
      const codecs = Array.from({ length: 60 }, (_, i) => codec(i % 2 ? 'server' : 'client'));
      await Promise.all(codecs.map((c, i) => compress(c, textCorpus(100_000, i))));
      for (const c of codecs) c.close();
    }

    it('60 connections compressing at once: at most 10 zlib jobs run (the default)', async () => {
      zlibLimiter.setConcurrency(10);
      const peak = await peakOf(manyJobs);
      assert.equal(peak, 10);
    });

    it('setConcurrency(2): at most 2 run', async () => {
      zlibLimiter.setConcurrency(2);
      try {
        assert.equal(await peakOf(manyJobs), 2);
      } finally {
        zlibLimiter.setConcurrency(10);
      }
    });

    it('the limit in force is the smallest asked for by a live connection, whatever the order', () => {
      assert.equal(zlibLimiter.limit, 10);
      const a = codec('server', {}, { concurrencyLimit: 5 });
      assert.equal(zlibLimiter.limit, 5);
      const b = codec('client', {}, { concurrencyLimit: 3 });
      const c = codec('server', {}, { concurrencyLimit: 50 });
      const d = codec('client');
      assert.equal(zlibLimiter.limit, 3, 'the strictest holds');
      b.close();
      b.close();
      assert.equal(zlibLimiter.limit, 5, 'a connection withdraws its request once, when closed');
      a.close();
      assert.equal(zlibLimiter.limit, 50, 'a larger limit than the default, asked for');
      c.close();
      assert.equal(zlibLimiter.limit, 10, 'none asks: the default');
      d.close();
    });

    it('a limit raised while jobs wait starts them at once', async () => {
      const limiter = new Limiter(1);
      const started: number[] = [];
      const dones: (() => void)[] = [];
      for (let i = 0; i < 4; i++) {
        limiter.run((done) => {
          started.push(i);
          dones.push(done);
        });
      }
      assert.deepEqual(started, [0]);
      limiter.request(3);
      assert.deepEqual(started, [0, 1, 2]);
      limiter.withdraw(3);
      assert.equal(limiter.limit, 1);
      // Lowered: the last job waits until fewer than one run.
      dones[0]!();
      dones[1]!();
      assert.deepEqual(started, [0, 1, 2]);
      dones[2]!();
      assert.deepEqual(started, [0, 1, 2, 3]);
      dones[3]!();
    });
  });
});

describe('permessage-deflate codec: after close', () => {
  it('fails compress and decompress with a catalogued UsageError (WS_ERR_INVALID_STATE)', async () => {
    const c = codec('server');
    c.close();
    const closed = (e: unknown) => e instanceof UsageError && e.code === ErrorCode.InvalidState;
    await assert.rejects(compress(c, Buffer.from('x')), closed);
    await assert.rejects(compress(c, Buffer.alloc(0)), closed);
    await assert.rejects(decompress(c, deflateMessage(Buffer.from('x'))), closed);
  });
});
