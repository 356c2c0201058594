// Compression faults and edge cases on the wire, against both roles of tsws with
// permessage-deflate agreed (see 12-compression for the set-up): RSV bits where they may not
// be (1002), data that does not inflate or inflates to bad UTF-8 (1007), a peer that breaks
// the agreed window or context mode (1007), a compression bomb and maxPayload after inflation
// (1009, inflation stopped at the limit, memory bounded), and odd but valid encodings that must
// echo: the RFC 7692 §7.2.3 examples, a BFINAL block, empty frames, one-byte frames.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import {
  echo,
  finish,
  type Link,
  openClientRole,
  openServerRole,
  ROLES,
  type Role,
} from '../helpers/deflate-conformance.js';
import {
  deflateMessage,
  MiB,
  PeerZlib,
  randomPayload,
  textCorpus,
} from '../helpers/deflate-wire.js';
import { encodeFrame, type RawFrame } from '../helpers/frames.js';

const BROWSER_OFFER = 'permessage-deflate; client_max_window_bits';

interface Setup {
  /** Offer (server role) / answer (client role); `null`: no compression. */
  offer?: string | null;
  answer?: string | null;
  maxPayload?: number;
}

async function open(role: Role, setup: Setup = {}): Promise<Link> {
  const maxPayload = setup.maxPayload ?? 0;
  if (role === 'server') {
    const offer = setup.offer === null ? undefined : (setup.offer ?? BROWSER_OFFER);
    return openServerRole(offer, { maxPayload });
  }
  const answer = setup.answer === null ? undefined : (setup.answer ?? 'permessage-deflate');
  return openClientRole(answer, { maxPayload });
}

/** Writes raw frames (masked when the peer is a client) and returns the endpoint's close code. */
async function closeCodeAfter(link: Link, frames: RawFrame[]): Promise<number | null> {
  const mask = link.role === 'server';
  link.peer.write(Buffer.concat(frames.map((f) => encodeFrame({ mask, ...f }))));
  return link.peer.closeCode();
}

async function expectClose(
  role: Role,
  setup: Setup,
  frames: (link: Link) => Promise<RawFrame[]> | RawFrame[],
  code: number,
): Promise<void> {
  const link = await open(role, setup);
  try {
    assert.equal(await closeCodeAfter(link, await frames(link)), code);
    // The raw server closes TCP after the endpoint's close frame (RFC 6455 §7.1.1).
    if (role === 'client') link.peer.socket.end();
    const closed = await link.inbox.close();
    assert.equal(closed.code, code, 'the close event');
  } finally {
    await link.close();
  }
}

const compressed = (data: Uint8Array, o: Partial<RawFrame> = {}): RawFrame => ({
  opcode: 0x1,
  payload: deflateMessage(data),
  rsv1: true,
  ...o,
});

for (const role of ROLES) {
  describe(`${role}: compression faults → close codes`, () => {
    const rsvCases: [string, (link: Link) => RawFrame[]][] = [
      [
        'RSV1 on a continuation frame (RFC 7692 §6.1)',
        () => {
          const payload = deflateMessage(textCorpus(3000, 1));
          return [
            { opcode: 0x1, payload: payload.subarray(0, 100), rsv1: true, fin: false },
            { opcode: 0x0, payload: payload.subarray(100), rsv1: true },
          ];
        },
      ],
      ['RSV1 on a ping', () => [{ opcode: 0x9, payload: 'x', rsv1: true }]],
      ['RSV1 on a pong', () => [{ opcode: 0xa, payload: 'x', rsv1: true }]],
      [
        'RSV1 on a close frame',
        () => [{ opcode: 0x8, payload: Buffer.from([3, 232]), rsv1: true }],
      ],
      ['RSV2 on a compressed message', () => [compressed(Buffer.from('hello'), { rsv2: true })]],
      ['RSV3 on a data frame', () => [{ opcode: 0x2, payload: 'x', rsv3: true }]],
    ];
    for (const [title, frames] of rsvCases) {
      it(`${role}: ${title} → 1002`, () => expectClose(role, {}, frames, 1002));
    }

    it(`${role}: RSV1 when compression was not agreed → 1002`, () =>
      expectClose(role, { offer: null, answer: null }, () => [compressed(Buffer.from('x'))], 1002));

    for (const [title, payload] of [
      ['a reserved block type', Buffer.from([0xff, 0xff])],
      ['a stored block whose LEN and NLEN disagree', Buffer.from([0x00, 5, 0, 0, 0, 1, 2])],
      ['a distance before the start of the data', Buffer.from([0x02, 0x22, 0x00, 0x00])],
    ] as const) {
      it(`${role}: data that does not inflate (${title}) → 1007`, () =>
        expectClose(role, {}, () => [{ opcode: 0x2, payload, rsv1: true }], 1007));
    }

    it(`${role}: compressed text that inflates to invalid UTF-8 → 1007`, () =>
      expectClose(
        role,
        {},
        () => [compressed(Buffer.concat([Buffer.from('valid, then '), Buffer.from([0xc3, 0x28])]))],
        1007,
      ));

    it(`${role}: a peer that keeps its context after agreeing not to → 1007`, async () => {
      // The peer's direction without context takeover, agreed in the offer or the answer.
      const setup =
        role === 'server'
          ? { offer: 'permessage-deflate; client_no_context_takeover' }
          : { answer: 'permessage-deflate; server_no_context_takeover' };
      await expectClose(
        role,
        setup,
        async () => {
          const cheat = new PeerZlib(15, true);
          const text = textCorpus(4000, 3);
          const frames = [
            { opcode: 0x1, payload: await cheat.deflate(text), rsv1: true },
            { opcode: 0x1, payload: await cheat.deflate(text), rsv1: true },
          ];
          cheat.close();
          return frames;
        },
        1007,
      );
    });

    it(`${role}: a peer that reaches beyond the agreed 9-bit window → 1007`, () => {
      const setup =
        role === 'server'
          ? { offer: 'permessage-deflate; client_max_window_bits=9' }
          : { answer: 'permessage-deflate; server_max_window_bits=9' };
      const repeats = Buffer.alloc(20_000, randomPayload(3000, 4));
      return expectClose(role, setup, () => [compressed(repeats, { opcode: 0x2 })], 1007);
    });

    it(`${role}: maxPayload applies to the inflated size: exactly 64 KiB passes, one byte more → 1009`, async () => {
      const link = await open(role, { maxPayload: 64 * 1024 });
      try {
        await echo(link, [{ data: Buffer.alloc(64 * 1024, 'a'), binary: true }]);
        const over = Buffer.alloc(64 * 1024 + 1, 'a');
        assert.ok(deflateMessage(over).length < 1000);
        assert.equal(await closeCodeAfter(link, [compressed(over, { opcode: 0x2 })]), 1009);
      } finally {
        await link.close();
      }
    });

    it(`${role}: a compressed payload itself over maxPayload → 1009`, () =>
      expectClose(
        role,
        { maxPayload: 10_000 },
        () => [compressed(randomPayload(20_000, 5), { opcode: 0x2 })],
        1009,
      ));

    it(`${role}: a compression bomb (1,000 MiB of zeros in 1 MB) against maxPayload 1 MiB → 1009; zlib stops at the limit, memory bounded`, async () => {
      // 1 MiB of zeros compressed and flushed (ending byte-aligned with an empty stored block):
      // the pieces decode alone, so 1,000 of them in a row decode to 1,000 MiB.
      const piece = zlib.deflateRawSync(Buffer.alloc(MiB), {
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      const pieces = Buffer.concat(Array.from({ length: 1000 }, () => piece));
      const bomb = pieces.subarray(0, pieces.length - 4);
      assert.ok(bomb.length < MiB, `${bomb.length} B`);
      const link = await open(role, { maxPayload: MiB });
      const proto = zlib.InflateRaw.prototype as unknown as { push(chunk: Buffer | null): boolean };
      const push = proto.push;
      let inflated = 0;
      proto.push = function (this: zlib.InflateRaw, chunk: Buffer | null) {
        if (chunk !== null) inflated += chunk.length;
        return push.call(this, chunk);
      };
      const before = process.memoryUsage().arrayBuffers;
      let peak = before;
      const sampler = setInterval(() => {
        peak = Math.max(peak, process.memoryUsage().arrayBuffers);
      }, 2);
      try {
        assert.equal(
          await closeCodeAfter(link, [{ opcode: 0x2, payload: bomb, rsv1: true }]),
          1009,
        );
        if (role === 'client') link.peer.socket.end();
        assert.equal((await link.inbox.close()).code, 1009);
      } finally {
        proto.push = push;
        clearInterval(sampler);
        await link.close();
      }
      assert.ok(inflated > MiB && inflated < MiB + 256 * 1024, `zlib inflated ${inflated} B`);
      // The bomb itself and its copies on both ends are counted here (about 3 MB).
      assert.ok(peak - before < 24 * MiB, `arrayBuffers grew by ${(peak - before) / MiB} MiB`);
    });
  });

  describe(`${role}: odd but valid compressed messages echo`, () => {
    it(`${role}: the examples of RFC 7692 §7.2.3, one after the other on one connection`, async () => {
      const link = await open(role);
      try {
        const mask = role === 'server';
        const hello = (bytes: number[], o: Partial<RawFrame> = {}) =>
          encodeFrame({ opcode: 0x1, payload: Buffer.from(bytes), rsv1: true, mask, ...o });
        link.peer.write(
          Buffer.concat([
            // §7.2.3.1, then §7.2.3.2 (refers to the first: context takeover).
            hello([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            hello([0xf2, 0x00, 0x11, 0x00, 0x00]),
            // §7.2.3.3: a stored block.
            hello([0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00]),
            // §7.2.3.5: two blocks.
            hello([0xf2, 0x48, 0x05, 0x00, 0x00, 0x00, 0xff, 0xff, 0xca, 0xc9, 0xc9, 0x07, 0x00]),
            // §7.2.3.1 in two frames (§7.2.3.1's fragmented form).
            hello([0xf2, 0x48, 0xcd], { fin: false }),
            encodeFrame({ opcode: 0x0, payload: Buffer.from([0xc9, 0xc9, 0x07, 0x00]), mask }),
            // §7.2.3.4: BFINAL set; the peer's next message then starts a new stream.
            hello([0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00]),
            hello([0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00]),
            // §7.2.3.6: an empty message.
            hello([0x00]),
          ]),
        );
        const expected = ['Hello', 'Hello', 'Hello', 'Hello', 'Hello', 'Hello', 'Hello', ''];
        for (const [i, text] of expected.entries()) {
          const got = await link.peer.nextMessage();
          const data = got.rsv1 ? await link.receiver!.inflate(got.payload) : got.payload;
          assert.equal(data.toString(), text, `message ${i}`);
        }
        assert.equal(await finish(link), 1000);
      } finally {
        await link.close();
      }
    });

    it(`${role}: a compressed message in one-byte frames, with empty first and last frames`, async () => {
      const link = await open(role);
      try {
        const text = textCorpus(300, 9);
        const payload = await link.sender!.deflate(text);
        const mask = role === 'server';
        const frames = [
          encodeFrame({ opcode: 0x1, payload: Buffer.alloc(0), rsv1: true, fin: false, mask }),
        ];
        for (const byte of payload) {
          frames.push(encodeFrame({ opcode: 0x0, payload: Buffer.from([byte]), fin: false, mask }));
        }
        frames.push(encodeFrame({ opcode: 0x0, payload: Buffer.alloc(0), mask }));
        link.peer.write(Buffer.concat(frames));
        const got = await link.peer.nextMessage();
        assert.ok((await link.receiver!.inflate(got.payload)).equals(text));
        // The stream goes on: more messages with context.
        await echo(link, [
          { data: text, binary: false },
          { data: text, binary: true, fragment: 7 },
        ]);
        assert.equal(await finish(link), 1000);
      } finally {
        await link.close();
      }
    });

    it(`${role}: a message compressed with Z_FINISH (a final block, no empty block after it)`, async () => {
      const link = await open(role);
      try {
        const text = textCorpus(5000, 11);
        // RFC 7692 §7.2.1: a sender whose data does not end with an empty stored block appends
        // one, then removes its last 4 bytes: a single 0x00 remains after the final block.
        const payload = Buffer.concat([zlib.deflateRawSync(text), Buffer.from([0x00])]);
        const mask = role === 'server';
        link.peer.write(encodeFrame({ opcode: 0x1, payload, rsv1: true, mask }));
        const got = await link.peer.nextMessage();
        assert.ok((await link.receiver!.inflate(got.payload)).equals(text));
        assert.equal(await finish(link), 1000);
      } finally {
        await link.close();
      }
    });
  });
}
