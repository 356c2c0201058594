// Autobahn 1.x: framing. Text and binary messages of every length encoding boundary (RFC 6455
// §5.2), a 16 MiB message, frames chopped into 1-byte and random chunks, many frames in one
// write, non-minimal length encodings, and frames in the same write as the handshake.

import {
  binary,
  type ConformanceCase,
  close,
  conformanceSuite,
  ping,
  pong,
  send,
  sendChopped,
  sendWithHandshake,
  text,
} from '../helpers/conformance-runner.js';
import { patternBytes } from '../helpers/fuzz.js';

const LENGTHS = [0, 125, 126, 127, 128, 65535, 65536, 65537];
const cases: ConformanceCase[] = [];

LENGTHS.forEach((n, i) => {
  const payload = '*'.repeat(n);
  cases.push({
    id: `1.1.${i + 1}`,
    title: `text message of ${n} bytes echoed`,
    actions: [send(text(payload)), send(close(1000))],
    frames: [text(payload)],
    close: 1000,
  });
});

LENGTHS.forEach((n, i) => {
  const payload = patternBytes(n, n + 1);
  cases.push({
    id: `1.2.${i + 1}`,
    title: `binary message of ${n} bytes echoed`,
    actions: [send(binary(payload)), send(close(1000))],
    frames: [binary(payload)],
    close: 1000,
  });
});

const BIG = 16 * 1024 * 1024;
const big = patternBytes(BIG, 16);
cases.push({
  id: '1.3.1',
  title: 'binary message of 16 MiB echoed',
  actions: [send(binary(big)), send(close(1000))],
  frames: [binary(big)],
  close: 1000,
  timeoutMs: 40_000,
});

// Text a quarter of that size, with 2-, 3- and 4-byte characters cut across TCP reads.
const bigText = 'aé€😀'.repeat(400_000);
cases.push({
  id: '1.3.2',
  title: `text message of ${(Buffer.byteLength(bigText) / 2 ** 20).toFixed(1)} MiB with multi-byte characters echoed`,
  actions: [send(text(bigText)), send(close(1000))],
  frames: [text(bigText)],
  close: 1000,
  timeoutMs: 40_000,
});

// Chopped variants: the endpoint reads frames across any TCP read boundary.
const t125 = 'x'.repeat(125);
const t126 = 'y'.repeat(126);
const b65536 = patternBytes(65536, 7);
const b65537 = patternBytes(65537, 8);
const t65535 = 'z'.repeat(65535);
cases.push(
  {
    id: '1.4.1',
    title: 'text of 125 bytes written in 1-byte chunks',
    actions: [sendChopped({ size: 1 }, [text(t125)]), send(close(1000))],
    frames: [text(t125)],
    close: 1000,
  },
  {
    id: '1.4.2',
    title: 'text of 126 bytes (16-bit length) written in 1-byte chunks',
    actions: [sendChopped({ size: 1 }, [text(t126)]), send(close(1000))],
    frames: [text(t126)],
    close: 1000,
  },
  {
    id: '1.4.3',
    title: 'binary of 65536 bytes (64-bit length) with its header cut at every byte',
    actions: [
      sendChopped({ at: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] }, [binary(b65536)]),
      send(close(1000)),
    ],
    frames: [binary(b65536)],
    close: 1000,
  },
  {
    id: '1.4.4',
    title: 'binary of 65537 bytes in random chunks of up to 4 KiB',
    actions: [sendChopped({ random: 4096 }, [binary(b65537)]), send(close(1000))],
    frames: [binary(b65537)],
    close: 1000,
  },
  {
    id: '1.4.5',
    title: 'text of 65535 bytes in random chunks of up to 1000 bytes',
    actions: [sendChopped({ random: 1000 }, [text(t65535)]), send(close(1000))],
    frames: [text(t65535)],
    close: 1000,
  },
  {
    id: '1.4.6',
    title: 'three messages and a close written together in 1-byte chunks',
    actions: [
      sendChopped({ size: 1 }, [
        text('Hello'),
        binary(patternBytes(10, 3)),
        text(''),
        close(1000, 'bye'),
      ]),
    ],
    frames: [text('Hello'), binary(patternBytes(10, 3)), text('')],
    close: 1000,
  },
  {
    id: '1.4.7',
    title: 'messages and pings in random chunks of up to 7 bytes',
    actions: [
      sendChopped({ random: 7 }, [
        text('first message'),
        ping('p1'),
        binary(patternBytes(300, 9)),
        ping('p2'),
        text('last'),
      ]),
      send(close(1000)),
    ],
    frames: [
      text('first message'),
      pong('p1'),
      binary(patternBytes(300, 9)),
      pong('p2'),
      text('last'),
    ],
    close: 1000,
  },
);

// Many frames in one write.
const hundred = Array.from({ length: 100 }, (_, i) => text(`message ${i}`));
const mixed = Array.from({ length: 100 }, (_, i) =>
  i % 10 === 9
    ? ping(`ping ${i}`)
    : i % 2 === 0
      ? text(`text ${i} ${'é'.repeat(i)}`)
      : binary(patternBytes(i * 13, i)),
);
cases.push(
  {
    id: '1.5.1',
    title: '100 text messages in one write echoed in order',
    actions: [send(...hundred), send(close(1000))],
    frames: hundred,
    close: 1000,
  },
  {
    id: '1.5.2',
    title: '100 text, binary and ping frames in one write answered in order',
    actions: [send(...mixed), send(close(1000))],
    frames: mixed.map((f) => (f.opcode === 0x9 ? pong(f.payload) : f)),
    close: 1000,
  },
  {
    id: '1.5.3',
    title: 'messages and the close in one write: echoes, then the close',
    actions: [send(text('a'), binary(patternBytes(200, 2)), text('b'), close(1000))],
    frames: [text('a'), binary(patternBytes(200, 2)), text('b')],
    close: 1000,
  },
);

// Non-minimal length encodings: RFC 6455 §5.2 asks the sender for the minimal one; a receiver
// that decodes the length as written reads the frame correctly (as Autobahn's peers do).
const b300 = patternBytes(300, 30);
cases.push(
  {
    id: '1.6.1',
    title: 'text of 5 bytes with a 16-bit length encoding accepted',
    actions: [send(text('Hello', { lengthEncoding: '16' })), send(close(1000))],
    frames: [text('Hello')],
    close: 1000,
  },
  {
    id: '1.6.2',
    title: 'text of 5 bytes with a 64-bit length encoding accepted',
    actions: [send(text('Hello', { lengthEncoding: '64' })), send(close(1000))],
    frames: [text('Hello')],
    close: 1000,
  },
  {
    id: '1.6.3',
    title: 'binary of 300 bytes with a 64-bit length encoding accepted',
    actions: [send(binary(b300, { lengthEncoding: '64' })), send(close(1000))],
    frames: [binary(b300)],
    close: 1000,
  },
  {
    id: '1.6.4',
    title: 'empty binary with a 64-bit length encoding accepted',
    actions: [send(binary('', { lengthEncoding: '64' })), send(close(1000))],
    frames: [binary('')],
    close: 1000,
  },
  {
    id: '1.6.5',
    title: 'fragments with 16- and 64-bit encodings of short lengths, chopped, accepted',
    actions: [
      sendChopped({ size: 3 }, [
        text('abc', { fin: false, lengthEncoding: '16' }),
        { opcode: 0, payload: 'def', lengthEncoding: '64' },
      ]),
      send(close(1000)),
    ],
    frames: [text('abcdef')],
    close: 1000,
  },
);

// Bytes in the same TCP write as the handshake (the 101 for the client, the request for the server).
cases.push(
  {
    id: '1.7.1',
    title: 'a text message in the same write as the handshake is echoed',
    actions: [sendWithHandshake(text('early bird')), send(close(1000))],
    frames: [text('early bird')],
    close: 1000,
  },
  {
    id: '1.7.2',
    title: 'a message and the close in the same write as the handshake',
    actions: [sendWithHandshake(binary(patternBytes(1000, 5)), close(1000))],
    frames: [binary(patternBytes(1000, 5))],
    close: 1000,
  },
);

conformanceSuite('Autobahn 1: framing', cases);
