/**
 * The property the sans-I/O core exists for: every split of a stream of frames gives the same
 * events and the same output as the whole stream.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  CloseCode,
  Connection,
  type ConnectionHandler,
  type ConnectionOptions,
  Opcode,
  type Role,
} from '../../src/protocol/index.js';
import { closePayload, type DecodedFrame, encodeFrame, type RawFrame } from '../helpers/frames.js';
import { cutStream, keyArb, patternBytes, runs, splitArb, textArb } from '../helpers/fuzz.js';
import { type CoreEvent, recordingConnection } from '../helpers/recorder.js';

// ---- stream generation ----

type LengthEncoding = RawFrame['lengthEncoding'];

/** A frame to send, and whether the stream is expected to produce it as one event. */
interface StreamCase {
  frames: RawFrame[];
  /** The events a correct receiver reports for the stream. */
  expected: CoreEvent[];
  /** The frames a correct connection writes back (pongs, the close echo). */
  replies: { opcode: number; payload: Buffer }[];
  /** Byte offset and header length of every frame in the encoded stream. */
  layout?: { start: number; headerLength: number; opcode: number }[];
}

const encodingArb: fc.Arbitrary<LengthEncoding> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<LengthEncoding>(undefined) },
  { weight: 1, arbitrary: fc.constantFrom<LengthEncoding>('16', '64') },
);

const sizeArb = fc.oneof(
  { weight: 20, arbitrary: fc.integer({ min: 0, max: 200 }) },
  { weight: 2, arbitrary: fc.constantFrom(0, 1, 124, 125, 126, 127) },
  { weight: 3, arbitrary: fc.constantFrom(8191, 8192, 8193, 65535, 65536, 65537) },
);

const binaryPayloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)) },
  {
    weight: 1,
    arbitrary: fc.tuple(sizeArb, fc.integer()).map(([n, seed]) => patternBytes(n, seed)),
  },
);

const textPayloadArb: fc.Arbitrary<Buffer> = fc.oneof(
  { weight: 4, arbitrary: textArb(40).map((s) => Buffer.from(s)) },
  {
    weight: 1,
    // Sizes at the length boundaries, with multi-byte characters across them.
    arbitrary: fc.tuple(sizeArb, textArb(6)).map(([n, s]) => {
      const tail = Buffer.from(s);
      return Buffer.concat([Buffer.alloc(Math.max(0, n - tail.length), 0x61), tail]);
    }),
  },
);

const controlArb = (role: Role): fc.Arbitrary<{ frame: RawFrame; event: CoreEvent }> =>
  fc
    .record({
      ping: fc.boolean(),
      payload: fc.oneof(
        fc.uint8Array({ maxLength: 20 }),
        fc.constantFrom(new Uint8Array(0), new Uint8Array(125).fill(0x70)),
      ),
      encoding: encodingArb,
      key: keyArb,
    })
    .map(({ ping, payload, encoding, key }) => {
      const data = Buffer.from(payload);
      return {
        frame: {
          opcode: ping ? Opcode.Ping : Opcode.Pong,
          payload: data,
          lengthEncoding: encoding,
          mask: role === 'server' ? key : false,
        },
        event: ping ? { type: 'ping', data } : { type: 'pong', data },
      };
    });

/** A data message, possibly fragmented, with control frames between its fragments. */
const messageArb = (
  role: Role,
  small: boolean,
): fc.Arbitrary<{ frames: RawFrame[]; events: CoreEvent[] }> =>
  fc
    .record({
      binary: fc.boolean(),
      // Now and then a message over 64 KiB (the 64-bit length class).
      big: small
        ? fc.constant(null)
        : fc.oneof(
            { weight: 15, arbitrary: fc.constant(null) },
            {
              weight: 1,
              arbitrary: fc.tuple(fc.constantFrom(65535, 65536, 65537, 100_000), fc.integer()),
            },
          ),
      text: small ? textArb(20).map((t) => Buffer.from(t)) : textPayloadArb,
      bin: small ? fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)) : binaryPayloadArb,
      cuts: fc.oneof(fc.constant<number[]>([]), fc.array(fc.nat(), { maxLength: 4 })),
      controls: fc.array(fc.array(controlArb(role), { maxLength: 2 }), {
        minLength: 5,
        maxLength: 5,
      }),
      encodings: fc.array(encodingArb, { minLength: 5, maxLength: 5 }),
      keys: fc.array(keyArb, { minLength: 5, maxLength: 5 }),
    })
    .map(({ binary, big, text, bin, cuts, controls, encodings, keys }) => {
      let payload = binary ? bin : text;
      if (big !== null) {
        const [n, seed] = big;
        payload = binary
          ? patternBytes(n, seed)
          : Buffer.concat([Buffer.alloc(n - 4, 0x7a), Buffer.from('😀')]);
      }
      // Fragment boundaries anywhere, including inside a UTF-8 sequence and empty fragments.
      const points = [...cuts.map((c) => c % (payload.length + 1)), payload.length].sort(
        (a, b) => a - b,
      );
      const frames: RawFrame[] = [];
      const events: CoreEvent[] = [];
      let prev = 0;
      points.forEach((p, i) => {
        const last = i === points.length - 1;
        const piece = payload.subarray(prev, p);
        let enc = encodings[i];
        if (enc === '16' && piece.length > 0xffff) enc = '64';
        frames.push({
          opcode: i === 0 ? (binary ? Opcode.Binary : Opcode.Text) : Opcode.Continuation,
          payload: piece,
          fin: last,
          lengthEncoding: enc,
          mask: role === 'server' ? keys[i] : false,
        });
        if (!last) {
          for (const c of controls[i]!) {
            frames.push(c.frame);
            events.push(c.event);
          }
        }
        prev = p;
      });
      events.push({ type: 'message', data: payload, isBinary: binary });
      return { frames, events };
    });

const validCloseCodeArb = fc.constantFrom(
  1000,
  1001,
  1002,
  1003,
  1007,
  1008,
  1009,
  1010,
  1011,
  1012,
  1013,
  1014,
  3000,
  3999,
  4000,
  4999,
);

const closeArb = (role: Role): fc.Arbitrary<{ frame: RawFrame; code: number; reason: string }> =>
  fc
    .record({
      withCode: fc.boolean(),
      code: validCloseCodeArb,
      reason: fc.string({ unit: 'binary', maxLength: 20 }),
      key: keyArb,
    })
    .map(({ withCode, code, reason, key }) => {
      let r = Buffer.from(reason);
      if (r.length > 123) r = r.subarray(0, 0);
      return {
        frame: {
          opcode: Opcode.Close,
          payload: withCode ? closePayload(code, r) : Buffer.alloc(0),
          mask: role === 'server' ? key : false,
        },
        code: withCode ? code : CloseCode.NoStatusReceived,
        reason: withCode ? r.toString() : '',
      };
    });

/** `small`: no payloads over a few dozen bytes (for properties whose failures shrink slowly). */
const streamArb = (role: Role, small = false): fc.Arbitrary<StreamCase> =>
  fc
    .record({
      items: fc.array(
        fc.oneof(
          { weight: 3, arbitrary: messageArb(role, small) },
          {
            weight: 1,
            arbitrary: controlArb(role).map((c) => ({ frames: [c.frame], events: [c.event] })),
          },
        ),
        { maxLength: 6 },
      ),
      close: fc.option(closeArb(role), { freq: 3 }),
      trailing: fc.uint8Array({ maxLength: 10 }),
    })
    .map(({ items, close, trailing }) => {
      const frames: RawFrame[] = [];
      const expected: CoreEvent[] = [];
      const replies: StreamCase['replies'] = [];
      for (const item of items) {
        frames.push(...item.frames);
        for (const e of item.events) {
          expected.push(e);
          if (e.type === 'ping') replies.push({ opcode: Opcode.Pong, payload: e.data });
        }
      }
      if (close !== null) {
        frames.push(close.frame);
        expected.push({ type: 'close', code: close.code, reason: close.reason });
        replies.push({
          opcode: Opcode.Close,
          // The echo carries the code and the reason (RFC 6455 §5.5.1; as ws and python do).
          payload:
            close.code === CloseCode.NoStatusReceived
              ? Buffer.alloc(0)
              : closePayload(close.code, close.reason),
        });
        // Whatever follows a close frame is ignored (RFC 6455 §5.5.1).
        if (trailing.length > 0) frames.push({ opcode: -1, payload: trailing });
      }
      return { frames, expected, replies };
    });

/** Encodes a stream; the pseudo-frame with opcode -1 is raw bytes. */
function encodeStream(c: StreamCase): Buffer {
  const parts: Buffer[] = [];
  const layout: NonNullable<StreamCase['layout']> = [];
  let pos = 0;
  for (const f of c.frames) {
    const bytes = f.opcode === -1 ? Buffer.from(f.payload as Uint8Array) : encodeFrame(f);
    if (f.opcode !== -1) {
      const b1 = bytes[1]!;
      const len7 = b1 & 0x7f;
      const headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
      layout.push({ start: pos, headerLength, opcode: f.opcode });
    }
    parts.push(bytes);
    pos += bytes.length;
  }
  c.layout = layout;
  return Buffer.concat(parts);
}

// ---- running a stream ----

interface Outcome {
  events: CoreEvent[];
  frames: DecodedFrame[];
  eof: boolean;
  closeCode: number;
}

function run(role: Role, pieces: Buffer[], options: Partial<ConnectionOptions> = {}): Outcome {
  const { conn, events, output } = recordingConnection({ role, ...options });
  const frames: DecodedFrame[] = [];
  let eof = false;
  for (const piece of pieces) {
    conn.receiveData(piece);
    // Take the output between chunks too, as a binding would.
    const out = output();
    frames.push(...out.frames);
    eof = out.eof;
  }
  const out = output();
  frames.push(...out.frames);
  return { events, frames, eof: eof || out.eof, closeCode: conn.closeCode };
}

const roles: Role[] = ['server', 'client'];

describe('the stream generator', () => {
  it('reaches the cases the properties are about', () => {
    const samples = fc.sample(streamArb('server'), { numRuns: 500, seed: 7 });
    const count = (pred: (c: StreamCase) => boolean) => samples.filter(pred).length;
    const frames = (c: StreamCase) => c.frames.filter((f) => f.opcode !== -1);
    const size = (f: RawFrame) => Buffer.from(f.payload as Uint8Array).length;
    const coverage = {
      'a frame over 65535 bytes': count((c) => frames(c).some((f) => size(f) > 0xffff)),
      'a frame of 126..65535 bytes': count((c) =>
        frames(c).some((f) => size(f) >= 126 && size(f) <= 0xffff),
      ),
      'an empty data frame': count((c) => frames(c).some((f) => f.opcode < 8 && size(f) === 0)),
      'a non-minimal length': count((c) => frames(c).some((f) => f.lengthEncoding !== undefined)),
      'a control frame between fragments': count((c) =>
        frames(c).some(
          (f, i, all) => f.opcode >= 9 && all.slice(0, i).some((g) => g.fin === false),
        ),
      ),
      'a message in 3+ fragments': count(
        (c) => frames(c).filter((f) => f.opcode === Opcode.Continuation).length >= 2,
      ),
      'an astral character': count((c) =>
        c.expected.some(
          (e) =>
            e.type === 'message' &&
            !e.isBinary &&
            /[\u{10000}-\u{10ffff}]/u.test(e.data.toString()),
        ),
      ),
      'a close frame': count((c) => c.expected.at(-1)?.type === 'close'),
      'bytes after the close frame': count((c) => c.frames.at(-1)?.opcode === -1),
    };
    for (const [what, n] of Object.entries(coverage)) {
      assert.ok(n >= 5, `only ${n} of 500 streams have ${what}`);
    }
  });
});

describe('every split of a valid stream gives the same events and output as the whole', () => {
  for (const role of roles) {
    it(`${role}: events and replies match the stream, whole and split`, () => {
      fc.assert(
        fc.property(streamArb(role), splitArb, (c, split) => {
          const bytes = encodeStream(c);
          const whole = run(role, cutStream(bytes, { kind: 'whole' }));
          assert.deepEqual(whole.events, c.expected);
          assert.deepEqual(
            whole.frames.map((f) => ({ opcode: f.opcode, payload: f.payload })),
            c.replies,
          );
          for (const f of whole.frames) {
            assert.equal(f.masked, role === 'client');
            assert.equal(f.fin, true);
            assert.equal(f.rsv1, false);
          }
          const hasClose = c.expected.at(-1)?.type === 'close';
          assert.equal(whole.eof, role === 'server' && hasClose);
          assert.equal(
            whole.closeCode,
            hasClose ? (c.expected.at(-1) as { code: number }).code : 1006,
          );

          const parts = run(role, cutStream(bytes, split));
          assert.deepEqual(parts.events, whole.events);
          assert.deepEqual(parts.frames, whole.frames);
          assert.equal(parts.eof, whole.eof);
          assert.equal(parts.closeCode, whole.closeCode);
        }),
        { numRuns: runs(1500) },
      );
    });
  }

  it('every 2-way and 3-way split of a small mixed stream (exhaustive)', () => {
    const frames: RawFrame[] = [
      { opcode: Opcode.Text, payload: Buffer.from('h€').subarray(0, 2), fin: false },
      { opcode: Opcode.Ping, payload: 'p' },
      { opcode: Opcode.Continuation, payload: Buffer.from('h€').subarray(2), lengthEncoding: '16' },
      { opcode: Opcode.Binary, payload: Buffer.alloc(0), lengthEncoding: '64' },
      { opcode: Opcode.Text, payload: '😀' },
      { opcode: Opcode.Close, payload: closePayload(1001, 'x') },
    ];
    const expected: CoreEvent[] = [
      { type: 'ping', data: Buffer.from('p') },
      { type: 'message', data: Buffer.from('h€'), isBinary: false },
      { type: 'message', data: Buffer.alloc(0), isBinary: true },
      { type: 'message', data: Buffer.from('😀'), isBinary: false },
      { type: 'close', code: 1001, reason: 'x' },
    ];
    for (const role of roles) {
      const key = Uint8Array.from([1, 2, 3, 4]);
      const bytes = Buffer.concat(
        frames.map((f) => encodeFrame({ ...f, mask: role === 'server' ? key : false })),
      );
      for (let i = 0; i <= bytes.length; i++) {
        for (let j = i; j <= bytes.length; j++) {
          const pieces = [bytes.subarray(0, i), bytes.subarray(i, j), bytes.subarray(j)].map((p) =>
            Buffer.from(p),
          );
          const out = run(role, pieces);
          assert.deepEqual(out.events, expected, `${role} cut at ${i}, ${j}`);
          assert.deepEqual(
            out.frames.map((f) => f.opcode),
            [Opcode.Pong, Opcode.Close],
          );
        }
      }
    }
  });
});

// ---- invalid streams ----

type Mutation =
  | { kind: 'flip-header'; frame: number; byte: number; bit: number }
  | { kind: 'flip-payload'; frame: number; offset: number; bit: number }
  | { kind: 'insert'; at: number; garbage: Uint8Array }
  | { kind: 'replace-byte'; at: number; value: number };

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('flip-header' as const),
      frame: fc.nat(),
      byte: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('flip-payload' as const),
      frame: fc.nat(),
      offset: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      garbage: fc.uint8Array({ minLength: 1, maxLength: 16 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('replace-byte' as const),
      at: fc.double({ min: 0, max: 1, noNaN: true }),
      value: fc.integer({ min: 0, max: 255 }),
    }),
  },
);

function mutate(bytes: Buffer, layout: NonNullable<StreamCase['layout']>, m: Mutation): Buffer {
  const out = Buffer.from(bytes);
  if (m.kind === 'insert') {
    const at = Math.floor(m.at * bytes.length);
    return Buffer.concat([out.subarray(0, at), m.garbage, out.subarray(at)]);
  }
  if (m.kind === 'replace-byte') {
    if (out.length > 0) out[Math.min(out.length - 1, Math.floor(m.at * out.length))] = m.value;
    return out;
  }
  if (layout.length === 0) return Buffer.concat([out, Buffer.from([0xff, 0xff])]);
  const f = layout[m.frame % layout.length]!;
  if (m.kind === 'flip-header') {
    out[f.start + (m.byte % f.headerLength)]! ^= 1 << m.bit;
  } else {
    const payloadStart = f.start + f.headerLength;
    const next = layout[(m.frame % layout.length) + 1]?.start ?? out.length;
    if (next > payloadStart) out[payloadStart + (m.offset % (next - payloadStart))]! ^= 1 << m.bit;
  }
  return out;
}

function checkFaultyOutcome(o: Outcome): void {
  const errors = o.events.filter((e) => e.type === 'error');
  assert.ok(errors.length <= 1, 'at most one error');
  const closes = o.events.filter((e) => e.type === 'close');
  assert.ok(errors.length + closes.length <= 1, 'one terminal event at most');
  if (errors.length === 1) {
    const err = errors[0] as Extract<CoreEvent, { type: 'error' }>;
    assert.equal(o.events.at(-1), err, 'nothing after the error');
    assert.ok([1002, 1007, 1009].includes(err.closeCode), `close code ${err.closeCode}`);
    const closeFrames = o.frames.filter((f) => f.opcode === Opcode.Close);
    assert.equal(closeFrames.length, 1);
    assert.equal(closeFrames[0]!.payload.readUInt16BE(0), err.closeCode);
    assert.equal(o.frames.at(-1)?.opcode, Opcode.Close, 'nothing written after the close frame');
    assert.equal(o.closeCode, err.closeCode);
  }
  if (closes.length === 1) assert.equal(o.events.at(-1)?.type, 'close');
}

describe('every split of an invalid stream gives the same events as the whole', () => {
  for (const role of roles) {
    it(`${role}: a mutated stream ends in at most one error (1002/1007/1009), in any split`, () => {
      fc.assert(
        fc.property(
          streamArb(role),
          fc.array(mutationArb, { minLength: 1, maxLength: 3 }),
          splitArb,
          (c, mutations, split) => {
            let bytes = encodeStream(c);
            for (const m of mutations) bytes = mutate(bytes, c.layout!, m);
            const whole = run(role, cutStream(bytes, { kind: 'whole' }));
            checkFaultyOutcome(whole);
            const parts = run(role, cutStream(bytes, split));
            assert.deepEqual(parts.events, whole.events);
            assert.deepEqual(parts.frames, whole.frames);
            assert.equal(parts.eof, whole.eof);
            assert.equal(parts.closeCode, whole.closeCode);
          },
        ),
        { numRuns: runs(1500) },
      );
    });
  }

  it('small limits (maxPayload, maxFragments) give the same 1009 in any split', () => {
    const caseArb = fc
      .constantFrom(...roles)
      .chain((role) => fc.tuple(fc.constant(role), streamArb(role)));
    fc.assert(
      fc.property(
        caseArb,
        fc.integer({ min: 1, max: 300 }),
        fc.integer({ min: 1, max: 4 }),
        splitArb,
        ([role, c], maxPayload, maxFragments, split) => {
          const bytes = encodeStream(c);
          const opts = { maxPayload, maxFragments };
          const whole = run(role, cutStream(bytes, { kind: 'whole' }), opts);
          checkFaultyOutcome(whole);
          for (const e of whole.events) {
            if (e.type === 'error') assert.equal(e.closeCode, 1009);
          }
          const parts = run(role, cutStream(bytes, split), opts);
          assert.deepEqual(parts.events, whole.events);
          assert.deepEqual(parts.frames, whole.frames);
          assert.equal(parts.closeCode, whole.closeCode);
        },
      ),
      { numRuns: runs(500) },
    );
  });
});

// ---- pausing is invisible too ----

/**
 * Like `run`, but pauses inside the handler of some events and resumes either synchronously in
 * the same handler, after the next chunk, or at the end. The events must be those of `run`.
 */
function runWithPauses(
  role: Role,
  pieces: Buffer[],
  plan: ('none' | 'sync' | 'next-chunk' | 'end')[],
): CoreEvent[] {
  const events: CoreEvent[] = [];
  let conn: Connection | undefined;
  let resumeAfterChunk = false;
  const onEvent = (e: CoreEvent) => {
    const action = plan[events.length % plan.length] ?? 'none';
    events.push(e);
    if (action === 'none') return;
    conn!.pause();
    if (action === 'sync') conn!.resume();
    else if (action === 'next-chunk') resumeAfterChunk = true;
  };
  const handler: ConnectionHandler = {
    onMessage: (data, isBinary) => onEvent({ type: 'message', data: Buffer.from(data), isBinary }),
    onPing: (data) => onEvent({ type: 'ping', data: Buffer.from(data) }),
    onPong: (data) => onEvent({ type: 'pong', data: Buffer.from(data) }),
    onClose: (code, reason) => onEvent({ type: 'close', code, reason: reason.toString() }),
    onError: (error) => onEvent({ type: 'error', code: error.code, closeCode: error.closeCode }),
  };
  conn = new Connection({ role }, handler);
  for (const piece of pieces) {
    conn.receiveData(piece);
    if (resumeAfterChunk) {
      resumeAfterChunk = false;
      conn.resume();
    }
  }
  while (conn.isPaused) conn.resume();
  return events;
}

describe('pausing and resuming at event boundaries gives the same events', () => {
  for (const role of roles) {
    it(`${role}: pause in handlers, resume later`, () => {
      fc.assert(
        fc.property(
          streamArb(role, true),
          splitArb,
          fc.array(fc.constantFrom('none', 'next-chunk', 'end'), { minLength: 1, maxLength: 6 }),
          (c, split, plan) => {
            const bytes = encodeStream(c);
            const events = runWithPauses(role, cutStream(bytes, split), plan);
            assert.deepEqual(events, c.expected);
          },
        ),
        { numRuns: runs(400) },
      );
    });

    it(`${role}: pause in handlers, resume synchronously in the same handler`, () => {
      fc.assert(
        fc.property(
          streamArb(role, true),
          splitArb,
          fc.array(fc.constantFrom('none', 'sync', 'next-chunk'), { minLength: 1, maxLength: 6 }),
          (c, split, plan) => {
            const bytes = encodeStream(c);
            const events = runWithPauses(role, cutStream(bytes, split), plan);
            assert.deepEqual(events, c.expected);
          },
        ),
        { numRuns: runs(400) },
      );
    });
  }
});
