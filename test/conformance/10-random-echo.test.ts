// Echo correctness over large generated batches of valid traffic: random text (every UTF-8
// length, astral characters) and binary messages of random sizes, some fragmented at random byte
// offsets (also inside characters, with empty fragments), pings and unsolicited pongs between
// messages and between fragments, and now and then a non-minimal length encoding. The stream is
// written whole or cut into random chunks. Expected: every ping answered at once by its pong,
// every message echoed once complete, all in arrival order, then a clean close.

import {
  type Chop,
  type ConformanceCase,
  close,
  conformanceSuite,
  type ExpectedFrame,
  prng,
  send,
  sendChopped,
} from '../helpers/conformance-runner.js';
import type { RawFrame } from '../helpers/frames.js';
import { patternBytes } from '../helpers/fuzz.js';

function randomText(random: () => number, chars: number): string {
  let s = '';
  for (let i = 0; i < chars; i++) {
    const r = random();
    let cp: number;
    if (r < 0.5) cp = 0x20 + Math.floor(random() * 0x5f);
    else if (r < 0.55) cp = Math.floor(random() * 0x20);
    else if (r < 0.7) cp = 0x80 + Math.floor(random() * (0x800 - 0x80));
    else if (r < 0.8) cp = 0x800 + Math.floor(random() * (0xd800 - 0x800));
    else if (r < 0.85) cp = 0xe000 + Math.floor(random() * (0x10000 - 0xe000));
    else cp = 0x10000 + Math.floor(random() * (0x110000 - 0x10000));
    s += String.fromCodePoint(cp);
  }
  return s;
}

interface Batch {
  frames: RawFrame[];
  expected: ExpectedFrame[];
  bytes: number;
}

function generateBatch(seed: number, messages: number, maxSize: number): Batch {
  const random = prng(seed);
  const int = (n: number) => Math.floor(random() * n);
  const frames: RawFrame[] = [];
  const expected: ExpectedFrame[] = [];
  let bytes = 0;
  // Now and then a non-minimal length encoding (16-bit only where the length fits it).
  const encoding = (length: number): Pick<RawFrame, 'lengthEncoding'> =>
    random() < 0.05 ? { lengthEncoding: length <= 0xffff && random() < 0.5 ? '16' : '64' } : {};
  const controlSize = Math.min(125, maxSize);
  const maybePing = (probability: number) => {
    const r = random();
    if (r < probability) {
      const payload = patternBytes(int(controlSize + 1), int(1 << 30));
      frames.push({ opcode: 0x9, payload });
      expected.push({ opcode: 0xa, payload });
    } else if (r < probability * 1.3) {
      frames.push({ opcode: 0xa, payload: patternBytes(int(controlSize + 1), int(1 << 30)) });
    }
  };
  for (let m = 0; m < messages; m++) {
    maybePing(0.1);
    const isText = random() < 0.55;
    const big = maxSize >= 1000 && random() < 0.02;
    const size = big ? 65536 + int(20000) : int(maxSize + 1);
    const payload = isText
      ? Buffer.from(randomText(random, Math.max(0, Math.floor(size / 2))))
      : patternBytes(size, int(1 << 30) + 1);
    bytes += payload.length;
    const opcode = isText ? 0x1 : 0x2;
    if (random() < 0.3) {
      const pieces = 2 + int(5);
      const cuts = Array.from({ length: pieces - 1 }, () => int(payload.length + 1)).sort(
        (a, b) => a - b,
      );
      let prev = 0;
      for (let i = 0; i < pieces; i++) {
        const end = i === pieces - 1 ? payload.length : cuts[i]!;
        frames.push({
          opcode: i === 0 ? opcode : 0x0,
          fin: i === pieces - 1,
          payload: payload.subarray(prev, end),
          ...encoding(end - prev),
        });
        prev = end;
        if (i < pieces - 1) maybePing(0.2);
      }
    } else {
      frames.push({ opcode, payload, ...encoding(payload.length) });
    }
    expected.push({ opcode, payload });
  }
  return { frames, expected, bytes };
}

const BATCHES: { messages: number; maxSize: number; chop?: Chop; how: string }[] = [
  { messages: 400, maxSize: 300, how: 'in one write' },
  { messages: 400, maxSize: 2000, how: 'in one write' },
  { messages: 300, maxSize: 1000, chop: { random: 1500 }, how: 'in random chunks ≤ 1500 bytes' },
  { messages: 300, maxSize: 4000, chop: { random: 16384 }, how: 'in random chunks ≤ 16 KiB' },
  { messages: 150, maxSize: 60, chop: { random: 40 }, how: 'in random chunks ≤ 40 bytes' },
  { messages: 60, maxSize: 20, chop: { size: 1 }, how: 'in 1-byte chunks' },
  { messages: 500, maxSize: 125, chop: { random: 700 }, how: 'in random chunks ≤ 700 bytes' },
  { messages: 250, maxSize: 8000, chop: { random: 65536 }, how: 'in random chunks ≤ 64 KiB' },
];

const cases: ConformanceCase[] = BATCHES.map((b, i) => {
  const seed = 0x5eed0000 + i;
  const batch = generateBatch(seed, b.messages, b.maxSize);
  const stream = b.chop ? sendChopped(b.chop, batch.frames, 0) : send(...batch.frames);
  return {
    id: `R.${i + 1}`,
    title: `${b.messages} random messages (${batch.frames.length} frames, ${batch.bytes} payload bytes, seed ${seed.toString(16)}) ${b.how} echoed in order`,
    actions: [stream, send(close(1000))],
    frames: batch.expected,
    close: 1000,
    timeoutMs: 40_000,
  };
});

conformanceSuite('Random valid traffic echoed', cases, { concurrency: 8 });
