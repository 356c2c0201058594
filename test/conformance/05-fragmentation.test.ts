// Autobahn 5.x: fragmentation (RFC 6455 §5.4). Messages in several frames are reassembled;
// control frames may come between fragments and are answered at once; control frames are never
// fragmented (§5.5); a continuation needs a message to continue, and a new message may not start
// inside one. Violations fail the connection with 1002.

import {
  awaitFrames,
  binary,
  type ConformanceCase,
  close,
  conformanceSuite,
  cont,
  ping,
  pong,
  send,
  sendChopped,
  text,
  wait,
} from '../helpers/conformance-runner.js';
import { patternBytes } from '../helpers/fuzz.js';

const noFin = { fin: false };
const manyText = Array.from({ length: 1000 }, (_, i) =>
  i === 0 ? text('a', noFin) : cont(String.fromCharCode(97 + (i % 26)), { fin: i === 999 }),
);
const manyTextWhole = Array.from({ length: 1000 }, (_, i) =>
  String.fromCharCode(97 + (i % 26)),
).join('');
const bytes1000 = patternBytes(1000, 1000);
const manyBinary = Array.from({ length: 1000 }, (_, i) =>
  i === 0
    ? binary(bytes1000.subarray(0, 1), noFin)
    : cont(bytes1000.subarray(i, i + 1), { fin: i === 999 }),
);
const big = patternBytes(3 * 65536 + 17, 42);

const cases: ConformanceCase[] = [
  {
    id: '5.1',
    title: 'ping fragmented into 2 frames',
    actions: [send(ping('frag', noFin), cont('ment')), send(close(1000))],
    close: 1002,
  },
  {
    id: '5.2',
    title: 'pong fragmented into 2 frames',
    actions: [send(pong('frag', noFin), cont('ment')), send(close(1000))],
    close: 1002,
  },
  {
    id: '5.2.1',
    title: 'close fragmented into 2 frames',
    actions: [send(close(1000, '', noFin), cont('ment'))],
    close: 1002,
  },
  {
    id: '5.3',
    title: 'text in 2 fragments echoed as one message',
    actions: [send(text('frag', noFin), cont('ment')), send(close(1000))],
    frames: [text('fragment')],
    close: 1000,
  },
  {
    id: '5.4',
    title: 'text in 2 fragments written as separate writes with a pause',
    actions: [send(text('frag', noFin)), wait(30), send(cont('ment')), send(close(1000))],
    frames: [text('fragment')],
    close: 1000,
  },
  {
    id: '5.5',
    title: 'text in 2 fragments in 1-byte chunks',
    actions: [sendChopped({ size: 1 }, [text('frag', noFin), cont('ment')]), send(close(1000))],
    frames: [text('fragment')],
    close: 1000,
  },
  {
    id: '5.6',
    title: 'text in 2 fragments with a ping between: pong first, then the message',
    actions: [send(text('frag', noFin), ping('ping'), cont('ment')), send(close(1000))],
    frames: [pong('ping'), text('fragment')],
    close: 1000,
  },
  {
    id: '5.7',
    title: 'text in 2 fragments with a ping between, in 1-byte chunks',
    actions: [
      sendChopped({ size: 1 }, [text('frag', noFin), ping('ping'), cont('ment')]),
      send(close(1000)),
    ],
    frames: [pong('ping'), text('fragment')],
    close: 1000,
  },
  {
    id: '5.8',
    title: 'the pong for a ping between fragments is sent before the message completes',
    actions: [
      send(text('frag', noFin), ping('now')),
      awaitFrames(1, 'the pong before the last fragment'),
      send(cont('ment')),
      send(close(1000)),
    ],
    frames: [pong('now'), text('fragment')],
    close: 1000,
  },
  {
    id: '5.9',
    title: 'continuation frame without a message',
    actions: [send(cont('fragment')), send(text('then a message')), send(close(1000))],
    close: 1002,
  },
  {
    id: '5.10',
    title: 'continuation frame without a message, in 1-byte chunks',
    actions: [sendChopped({ size: 1 }, [cont('fragment'), text('then a message')])],
    close: 1002,
  },
  {
    id: '5.11',
    title: 'continuation frame (fin=0) without a message',
    actions: [send(cont('fragment', noFin), cont('more')), send(close(1000))],
    close: 1002,
  },
  {
    id: '5.12',
    title: 'continuation after a complete text: the text is echoed',
    actions: [send(text('complete'), cont('orphan')), send(close(1000))],
    frames: [text('complete')],
    close: 1002,
  },
  {
    id: '5.13',
    title: 'new text message inside a fragmented text',
    actions: [send(text('frag', noFin), text('new message')), send(close(1000))],
    close: 1002,
  },
  {
    id: '5.14',
    title: 'new binary message inside a fragmented text',
    actions: [send(text('frag', noFin), binary('new message')), send(close(1000))],
    close: 1002,
  },
  {
    id: '5.15',
    title: 'text fin=0, continuation fin=1, continuation fin=0, text fin=0: the first is echoed',
    actions: [
      send(
        text('fragment1', noFin),
        cont('fragment2'),
        cont('fragment3', noFin),
        text('fragment4', noFin),
      ),
      send(close(1000)),
    ],
    frames: [text('fragment1fragment2')],
    close: 1002,
  },
  {
    id: '5.16',
    title: 'new text fin=0 inside a fragmented binary (after a ping)',
    actions: [
      send(binary('ab', noFin), ping('p'), text('cd', noFin), cont('ef')),
      send(close(1000)),
    ],
    frames: [pong('p')],
    close: 1002,
  },
  {
    id: '5.17',
    title: 'binary in 3 fragments echoed as one message',
    actions: [
      send(
        binary(big.subarray(0, 65536), noFin),
        cont(big.subarray(65536, 65537), noFin),
        cont(big.subarray(65537)),
      ),
      send(close(1000)),
    ],
    frames: [binary(big)],
    close: 1000,
  },
  {
    id: '5.18',
    title: 'text in 1000 one-byte fragments',
    actions: [send(...manyText), send(close(1000))],
    frames: [text(manyTextWhole)],
    close: 1000,
  },
  {
    id: '5.19',
    title: 'binary in 1000 one-byte fragments',
    actions: [send(...manyBinary), send(close(1000))],
    frames: [binary(bytes1000)],
    close: 1000,
  },
  {
    id: '5.20',
    title: 'text with empty first, middle and last fragments',
    actions: [
      send(text('', noFin), cont('', noFin), cont('x', noFin), cont('', noFin), cont('')),
      send(close(1000)),
    ],
    frames: [text('x')],
    close: 1000,
  },
  {
    id: '5.21',
    title: 'text made only of 3 empty fragments → empty text',
    actions: [send(text('', noFin), cont('', noFin), cont('')), send(close(1000))],
    frames: [text('')],
    close: 1000,
  },
  {
    id: '5.22',
    title: 'binary made only of empty fragments → empty binary',
    actions: [send(binary('', noFin), cont('')), send(close(1000))],
    frames: [binary('')],
    close: 1000,
  },
  {
    id: '5.23',
    title: 'text in 5 fragments with 2 pings between and pauses (pongs sent at once)',
    actions: [
      send(text('fragment1', noFin)),
      wait(10),
      send(ping('ping1')),
      awaitFrames(1, 'first pong before the message completes'),
      send(cont('fragment2', noFin)),
      wait(10),
      send(cont('fragment3', noFin), ping('ping2')),
      awaitFrames(2, 'second pong before the message completes'),
      send(cont('fragment4', noFin)),
      wait(10),
      send(cont('fragment5')),
      send(close(1000)),
    ],
    frames: [pong('ping1'), pong('ping2'), text('fragment1fragment2fragment3fragment4fragment5')],
    close: 1000,
  },
  {
    id: '5.24',
    title: 'fragmented text, pings and pongs between, all in random chunks',
    actions: [
      sendChopped({ random: 5 }, [
        text('Hello', noFin),
        ping('a'),
        cont(', ', noFin),
        pong('unsolicited'),
        cont('world', noFin),
        ping('b'),
        cont('!'),
      ]),
      send(close(1000)),
    ],
    frames: [pong('a'), pong('b'), text('Hello, world!')],
    close: 1000,
  },
  {
    id: '5.25',
    title: 'unsolicited pong between fragments is ignored',
    actions: [send(binary('ab', noFin), pong('ignored'), cont('cd')), send(close(1000))],
    frames: [binary('abcd')],
    close: 1000,
  },
  {
    id: '5.26',
    title: 'close between fragments: the incomplete message is dropped, close echoed',
    actions: [send(text('never ', noFin), close(1000), cont('finished'))],
    close: 1000,
  },
  {
    id: '5.27',
    title: 'two fragmented messages back to back',
    actions: [
      send(text('one-', noFin), cont('a'), binary('two-', noFin), cont('b', noFin), cont('c')),
      send(close(1000)),
    ],
    frames: [text('one-a'), binary('two-bc')],
    close: 1000,
  },
  {
    id: '5.28',
    title: 'binary of 196625 bytes in 3 fragments, in random chunks',
    actions: [
      sendChopped({ random: 8192 }, [
        binary(big.subarray(0, 100), noFin),
        cont(big.subarray(100, 100000), noFin),
        cont(big.subarray(100000)),
      ]),
      send(close(1000)),
    ],
    frames: [binary(big)],
    close: 1000,
  },
];

conformanceSuite('Autobahn 5: fragmentation', cases);
