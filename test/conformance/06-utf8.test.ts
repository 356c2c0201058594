// Autobahn 6.x: UTF-8 in text messages. RFC 6455 §8.1: a text message that is not valid UTF-8
// (RFC 3629) MUST fail the connection with 1007 (§7.4.1); §5.6: a message's UTF-8 may be cut
// anywhere between fragments and is checked over the whole message. Fail-fast: invalid bytes are
// refused as soon as they arrive, before the rest of the frame or message (Autobahn 6.4).

import {
  awaitClose,
  type ConformanceCase,
  close,
  conformanceSuite,
  cont,
  part,
  send,
  sendChopped,
  text,
  wait,
} from '../helpers/conformance-runner.js';
import { KOSME, UTF8_VECTORS, type Utf8Vector } from '../helpers/conformance-utf8.js';
import type { RawFrame } from '../helpers/frames.js';

const noFin = { fin: false };
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** The bytes as one frame per byte (a 1-byte vector gets an empty last fragment). */
function bytewiseFragments(bytes: Buffer): RawFrame[] {
  const frames: RawFrame[] = [];
  for (let i = 0; i < bytes.length; i++) {
    const payload = bytes.subarray(i, i + 1);
    frames.push(i === 0 ? text(payload, noFin) : cont(payload, noFin));
  }
  if (frames.length === 0) return [text('')];
  frames.push(cont(''));
  return frames;
}

const expectOf = (vector: Utf8Vector) =>
  vector.valid ? { frames: [text(vector.bytes)], close: 1000 as const } : { close: 1007 as const };
const verdict = (vector: Utf8Vector) => (vector.valid ? 'valid, echoed' : 'invalid');

const cases: ConformanceCase[] = [];

cases.push(
  {
    id: '6.1.1',
    title: 'empty text message echoed',
    actions: [send(text('')), send(close(1000))],
    frames: [text('')],
    close: 1000,
  },
  {
    id: '6.1.2',
    title: 'empty fragments around valid text',
    actions: [send(text('', noFin), cont('κόσμε', noFin), cont('')), send(close(1000))],
    frames: [text('κόσμε')],
    close: 1000,
  },
);

// A valid text cut between two fragments at every byte, also inside a character: accepted.
for (let cut = 1; cut < KOSME.length; cut++) {
  cases.push({
    id: `6.2.${cut}`,
    title: `κόσμε in 2 fragments cut at byte ${cut}${(KOSME[cut]! & 0xc0) === 0x80 ? ' (inside a character)' : ''}`,
    actions: [
      send(text(KOSME.subarray(0, cut), noFin), cont(KOSME.subarray(cut))),
      send(close(1000)),
    ],
    frames: [text(KOSME)],
    close: 1000,
  });
}
const emoji = Buffer.from('a😀b');
for (const [i, cuts] of [
  [2, 3],
  [2, 4],
  [3, 4],
  [1, 5],
].entries()) {
  const [a, b] = cuts as [number, number];
  cases.push({
    id: `6.2.${KOSME.length + i}`,
    title: `a 4-byte character split over 3 fragments at bytes ${a} and ${b}`,
    actions: [
      send(
        text(emoji.subarray(0, a), noFin),
        cont(emoji.subarray(a, b), noFin),
        cont(emoji.subarray(b)),
      ),
      send(close(1000)),
    ],
    frames: [text(emoji)],
    close: 1000,
  });
}

// The vectors, three ways each: one frame, one fragment per byte, one frame in 1-byte chunks.
UTF8_VECTORS.forEach((vector) => {
  const name = `Kuhn ${vector.section} ${vector.title} (${vector.bytes.toString('hex')})`.slice(
    0,
    110,
  );
  cases.push(
    {
      id: `6.3.${vector.section}`,
      title: `${name} in one frame: ${verdict(vector)}`,
      actions: [send(text(vector.bytes)), send(close(1000))],
      ...expectOf(vector),
    },
    {
      id: `6.4.${vector.section}`,
      title: `${name} one fragment per byte: ${verdict(vector)}`,
      actions: [send(...bytewiseFragments(vector.bytes)), send(close(1000))],
      ...expectOf(vector),
    },
    {
      id: `6.5.${vector.section}`,
      title: `${name} in 1-byte TCP chunks: ${verdict(vector)}`,
      actions: [sendChopped({ size: 1 }, [text(vector.bytes)]), send(close(1000))],
      ...expectOf(vector),
    },
  );
});

// Fail-fast (Autobahn 6.4): the close frame must arrive before the rest is sent.
const bad = hex('f4 90 80 80'); // U+110000
const single = text(Buffer.concat([KOSME, bad, Buffer.from('edited')]));
const k = KOSME.length;
const overlong = text(Buffer.concat([hex('e0 80 af'), Buffer.alloc(500, 0x62)]));
const long = text(Buffer.concat([hex('c0'), Buffer.alloc(65535, 0x61)]));
cases.push(
  {
    id: '6.6.1',
    title: 'fail fast: invalid second fragment of three',
    actions: [
      send(text(KOSME, noFin), cont(bad, noFin)),
      awaitClose('before the third fragment'),
      send(cont('edited')),
    ],
    close: 1007,
  },
  {
    id: '6.6.2',
    title: 'fail fast: a fragment that makes an incomplete sequence invalid',
    actions: [
      send(text(KOSME, noFin), cont(hex('f4'), noFin)),
      wait(20),
      send(cont(hex('90 80 80'), noFin)),
      awaitClose('before the last fragment'),
      send(cont('edited')),
    ],
    close: 1007,
  },
  {
    id: '6.6.3',
    title: 'fail fast: one frame, invalid bytes in its second TCP chunk',
    actions: [
      send(part(single, 0, k)),
      wait(20),
      send(part(single, k, k + 4)),
      awaitClose('before the rest of the frame'),
      send(part(single, k + 4)),
    ],
    close: 1007,
  },
  {
    id: '6.6.4',
    title: 'fail fast: one frame, the first 2 bytes of U+110000 end a TCP chunk',
    actions: [
      send(part(single, 0, k + 2)),
      awaitClose('before the rest of the frame'),
      send(part(single, k + 2)),
    ],
    close: 1007,
  },
  {
    id: '6.6.5',
    title: 'fail fast: a surrogate prefix (ED A0) ends the first fragment',
    actions: [
      send(text(Buffer.concat([Buffer.from('ab'), hex('ed a0')]), noFin)),
      awaitClose('before the next fragment'),
      send(cont(hex('80'))),
    ],
    close: 1007,
  },
  {
    id: '6.6.6',
    title: 'fail fast: a 64 KiB frame whose first byte is C0, rest not sent yet',
    actions: [
      send(part(long, 0, 1)),
      awaitClose('before the remaining 65535 bytes'),
      send(part(long, 1)),
    ],
    close: 1007,
  },
  {
    id: '6.6.7',
    title: 'fail fast: invalid bytes in the middle fragment of a fragmented message',
    actions: [
      send(text('Hello, ', noFin)),
      send(cont(Buffer.concat([Buffer.from('wor'), hex('ff'), Buffer.from('ld')]), noFin)),
      awaitClose('before the last fragment'),
      send(cont('!')),
    ],
    close: 1007,
  },
  {
    id: '6.6.8',
    title: 'fail fast: an overlong prefix (E0 80) in a frame chopped into 1-byte chunks',
    actions: [
      sendChopped({ size: 1 }, [part(overlong, 0, 2)]),
      awaitClose('before the rest of the frame'),
      send(part(overlong, 2)),
    ],
    close: 1007,
  },
  {
    id: '6.7.1',
    title: 'valid text, then a text with invalid UTF-8: the first is echoed',
    actions: [send(text('valid'), text(hex('ce ba e1 bd'))), send(close(1000))],
    frames: [text('valid')],
    close: 1007,
  },
  {
    id: '6.7.2',
    title: 'a message ending inside a character (last fragment truncated)',
    actions: [send(text('abc', noFin), cont(hex('e2 82'))), send(close(1000))],
    close: 1007,
  },
  {
    id: '6.7.3',
    title: 'binary messages are not checked for UTF-8',
    actions: [send({ opcode: 2, payload: hex('c0 af ed a0 80 ff fe') }), send(close(1000))],
    frames: [{ opcode: 2, payload: hex('c0 af ed a0 80 ff fe') }],
    close: 1000,
  },
);

conformanceSuite('Autobahn 6: UTF-8 handling', cases);
