// Limits (Autobahn 9.x territory, with tsws' own limits): the endpoint under test is configured
// with maxPayload 64 KiB and maxFragments 64. A message over the limit (one frame, or the sum of
// its fragments) fails the connection with 1009 (RFC 6455 §7.4.1), refused on the frame header
// before its payload is sent; too many fragments → 1009; a 64-bit length with its most
// significant bit set is a protocol error (§5.2) → 1002.

import {
  awaitClose,
  binary,
  type ConformanceCase,
  close,
  conformanceSuite,
  cont,
  headerOnly,
  ping,
  pong,
  send,
  sendChopped,
  text,
} from '../helpers/conformance-runner.js';
import { patternBytes } from '../helpers/fuzz.js';

const LIMIT = 64 * 1024;
const MAX_FRAGMENTS = 64;
const noFin = { fin: false };
const exact = patternBytes(LIMIT, 64);
const quarter = LIMIT / 4;

const fragments = (n: number, last = true) =>
  Array.from({ length: n }, (_, i) =>
    i === 0 ? text('a', noFin) : cont('a', { fin: last && i === n - 1 }),
  );

const cases: ConformanceCase[] = [
  {
    id: '8.1.1',
    title: `text of exactly maxPayload (${LIMIT} bytes) echoed`,
    actions: [send(text('L'.repeat(LIMIT))), send(close(1000))],
    frames: [text('L'.repeat(LIMIT))],
    close: 1000,
  },
  {
    id: '8.1.2',
    title: `binary of exactly maxPayload (${LIMIT} bytes) echoed`,
    actions: [send(binary(exact)), send(close(1000))],
    frames: [binary(exact)],
    close: 1000,
  },
  {
    id: '8.1.3',
    title: 'two messages of maxPayload each: the limit is per message',
    actions: [send(binary(exact), binary(exact)), send(close(1000))],
    frames: [binary(exact), binary(exact)],
    close: 1000,
  },
  {
    id: '8.1.4',
    title: 'fragments summing to exactly maxPayload echoed',
    actions: [
      send(
        binary(exact.subarray(0, quarter), noFin),
        cont(exact.subarray(quarter, 2 * quarter), noFin),
        cont(exact.subarray(2 * quarter, 3 * quarter), noFin),
        cont(exact.subarray(3 * quarter)),
      ),
      send(close(1000)),
    ],
    frames: [binary(exact)],
    close: 1000,
  },
  {
    id: '8.1.5',
    title: 'control frames between fragments do not count toward maxPayload',
    actions: [
      send(
        binary(exact.subarray(0, LIMIT / 2), noFin),
        ping('p'.repeat(125)),
        cont(exact.subarray(LIMIT / 2)),
      ),
      send(close(1000)),
    ],
    frames: [pong('p'.repeat(125)), binary(exact)],
    close: 1000,
  },
  {
    id: '8.2.1',
    title: `binary header declaring ${LIMIT + 1} bytes, refused before its payload`,
    actions: [send(headerOnly(binary(), BigInt(LIMIT + 1))), awaitClose('refused on the header')],
    close: 1009,
  },
  {
    id: '8.2.2',
    title: `text header declaring ${LIMIT + 1} bytes, refused before its payload`,
    actions: [send(headerOnly(text(), BigInt(LIMIT + 1))), awaitClose('refused on the header')],
    close: 1009,
  },
  {
    id: '8.2.3',
    title: 'a whole frame of maxPayload + 1 bytes after a valid message: the first is echoed',
    actions: [send(text('small')), send(binary(patternBytes(LIMIT + 1, 1)))],
    frames: [text('small')],
    close: 1009,
  },
  {
    id: '8.2.4',
    title: 'header declaring 4 GiB (64-bit length, MSB clear), refused before its payload',
    actions: [send(headerOnly(binary(), 2n ** 32n)), awaitClose('refused on the header')],
    close: 1009,
  },
  {
    id: '8.2.5',
    title: 'header declaring 2^63 - 1 bytes, refused before its payload',
    actions: [send(headerOnly(binary(), 2n ** 63n - 1n)), awaitClose('refused on the header')],
    close: 1009,
  },
  {
    id: '8.3.1',
    title: 'fragments over maxPayload: refused on the header of the fragment that crosses it',
    actions: [
      send(binary(patternBytes(40000, 4), noFin)),
      send(headerOnly(cont(), 30000n)),
      awaitClose('refused on the second header'),
      send(patternBytes(30000, 5)),
    ],
    close: 1009,
  },
  {
    id: '8.3.2',
    title: 'maxPayload bytes in fragments, then one more byte in a last fragment',
    actions: [
      send(text('a'.repeat(LIMIT / 2), noFin), cont('a'.repeat(LIMIT / 2), noFin), cont('!')),
    ],
    close: 1009,
  },
  {
    id: '8.3.3',
    title: 'fragments over maxPayload in random chunks',
    actions: [
      sendChopped({ random: 3000 }, [
        binary(patternBytes(30000, 6), noFin),
        cont(patternBytes(30000, 7), noFin),
        cont(patternBytes(30000, 8)),
      ]),
    ],
    close: 1009,
  },
  {
    id: '8.4.1',
    title: '64-bit length with its most significant bit set, refused on the header',
    actions: [send(headerOnly(binary(), 2n ** 63n)), awaitClose('refused on the header')],
    close: 1002,
  },
  {
    id: '8.4.2',
    title: '64-bit length of all ones, refused on the header',
    actions: [send(headerOnly(text(), 2n ** 64n - 1n)), awaitClose('refused on the header')],
    close: 1002,
  },
  {
    id: '8.4.3',
    title: '64-bit length with its MSB set, the header in 1-byte chunks',
    actions: [
      sendChopped({ size: 1 }, [headerOnly(binary(), 2n ** 63n + 5n)]),
      awaitClose('refused on the header'),
    ],
    close: 1002,
  },
  {
    id: '8.5.1',
    title: `a message of exactly maxFragments (${MAX_FRAGMENTS}) fragments echoed`,
    actions: [send(...fragments(MAX_FRAGMENTS)), send(close(1000))],
    frames: [text('a'.repeat(MAX_FRAGMENTS))],
    close: 1000,
  },
  {
    id: '8.5.2',
    title: `a message of ${MAX_FRAGMENTS + 1} fragments, refused on the extra header`,
    actions: [
      send(...fragments(MAX_FRAGMENTS, false)),
      send(headerOnly(cont('', { fin: true }), 1n)),
      awaitClose('refused on the extra header'),
      send(Buffer.from('a')),
    ],
    close: 1009,
  },
  {
    id: '8.5.3',
    title: `${MAX_FRAGMENTS + 1} empty fragments`,
    actions: [
      send(
        ...Array.from({ length: MAX_FRAGMENTS + 1 }, (_, i) =>
          i === 0 ? binary('', noFin) : cont('', { fin: i === MAX_FRAGMENTS }),
        ),
      ),
    ],
    close: 1009,
  },
  {
    id: '8.5.4',
    title: 'maxFragments counts per message, and pings between fragments do not count',
    actions: [
      send(
        ...fragments(MAX_FRAGMENTS / 2, false),
        ping('x'),
        ...fragments(MAX_FRAGMENTS / 2).slice(1),
      ),
      send(...fragments(MAX_FRAGMENTS)),
      send(close(1000)),
    ],
    frames: [pong('x'), text('a'.repeat(MAX_FRAGMENTS - 1)), text('a'.repeat(MAX_FRAGMENTS))],
    close: 1000,
  },
];

conformanceSuite('Limits (maxPayload 64 KiB, maxFragments 64)', cases, {
  settings: { maxPayload: LIMIT, maxFragments: MAX_FRAGMENTS },
});
