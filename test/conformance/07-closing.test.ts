// Autobahn 7.x: the closing handshake (RFC 6455 §5.5.1, §7). A close frame is answered with a
// close frame (echoing the status code), after which nothing more is read or answered; its
// payload is empty or a 2-byte code (§7.4: only codes an endpoint may send) plus a UTF-8 reason
// (§5.5.1), 125 bytes in all (§5.5). A bad code or a 1-byte payload → 1002; a reason that is
// not UTF-8 → 1007.

import {
  awaitClose,
  binary,
  type ConformanceCase,
  close,
  conformanceSuite,
  cont,
  expectNoFin,
  fin,
  part,
  ping,
  send,
  sendChopped,
  text,
  wait,
} from '../helpers/conformance-runner.js';
import { patternBytes } from '../helpers/fuzz.js';

const big = patternBytes(256 * 1024, 256);
const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const cases: ConformanceCase[] = [
  {
    id: '7.1.1',
    title: 'text message, then close: echo, then close echo',
    actions: [send(text('Hello World!')), send(close(1000))],
    frames: [text('Hello World!')],
    close: 1000,
  },
  {
    id: '7.1.2',
    title: 'two close frames: only one close is sent back',
    actions: [send(close(1000)), send(close(1000))],
    close: 1000,
  },
  {
    id: '7.1.3',
    title: 'a ping after the close is not answered',
    actions: [send(close(1000)), send(ping('after close'))],
    close: 1000,
  },
  {
    id: '7.1.4',
    title: 'a text after the close is not echoed',
    actions: [send(close(1000)), send(text('after close'))],
    close: 1000,
  },
  {
    id: '7.1.5',
    title: 'first fragment, close, last fragment: the message is not echoed',
    actions: [send(text('fragment1', { fin: false })), send(close(1000)), send(cont('fragment2'))],
    close: 1000,
  },
  {
    id: '7.1.6',
    title: '256 KiB message, close, ping in one write: echo, close, no pong',
    actions: [send(binary(big), close(1000), ping('after close'))],
    frames: [binary(big)],
    close: 1000,
  },
  {
    id: '7.1.7',
    title: 'close, then data in the same write as the close',
    actions: [send(close(1000), text('same write'), binary('x'), ping())],
    close: 1000,
  },
  {
    id: '7.3.1',
    title: 'close without payload → empty close echoed',
    actions: [send(close())],
    close: null,
  },
  {
    id: '7.3.2',
    title: 'close with a 1-byte payload',
    actions: [send({ opcode: 8, payload: Buffer.from([0x03]) })],
    close: 1002,
  },
  {
    id: '7.3.3',
    title: 'close 1000 without reason echoed',
    actions: [send(close(1000))],
    close: 1000,
  },
  {
    id: '7.3.4',
    title: 'close 1000 with a reason: the code is echoed',
    actions: [send(close(1000, 'Hello World!'))],
    close: 1000,
  },
  {
    id: '7.3.5',
    title: 'close 1000 with a 123-byte reason (payload 125) accepted',
    actions: [send(close(1000, '*'.repeat(123)))],
    close: 1000,
  },
  {
    id: '7.3.6',
    title: 'close 1000 with a 124-byte reason (payload 126)',
    actions: [send(close(1000, '*'.repeat(124)))],
    close: 1002,
  },
  {
    id: '7.5.1',
    title: 'close reason with invalid UTF-8',
    actions: [
      send(
        close(1000, Buffer.concat([Buffer.from('κόσμε'), hex('ed a0 80'), Buffer.from('edited')])),
      ),
    ],
    close: 1007,
  },
  {
    id: '7.5.2',
    title: 'close reason truncated inside a character',
    actions: [send(close(1000, Buffer.concat([Buffer.from('ab'), hex('e2 82')])))],
    close: 1007,
  },
  {
    id: '7.5.3',
    title: 'close reason with multi-byte UTF-8 accepted',
    actions: [send(close(1000, 'κόσμε 😀 \u{10ffff}'))],
    close: 1000,
  },
  {
    id: '7.6.1',
    title: 'close frame in 1-byte chunks echoed',
    actions: [sendChopped({ size: 1 }, [close(1000, 'chopped reason')])],
    close: 1000,
  },
  {
    id: '7.6.2',
    title: 'text and close in 1-byte chunks',
    actions: [sendChopped({ size: 1 }, [text('abc'), close(1001, 'going')])],
    frames: [text('abc')],
    close: 1001,
  },
  {
    id: '7.6.3',
    title: 'close with a 1-byte payload in 1-byte chunks',
    actions: [sendChopped({ size: 1 }, [{ opcode: 8, payload: Buffer.from([0x03]) }])],
    close: 1002,
  },
  {
    id: '7.6.4',
    title: 'close header, then its payload after a pause',
    actions: [sendChopped({ at: [2, 6] }, [close(3000, 'later')], 30)],
    close: 3000,
  },
  {
    id: '7.6.5',
    title: 'close after a pause following a message',
    actions: [send(text('m')), wait(50), send(close(1000))],
    frames: [text('m')],
    close: 1000,
  },
];

// TCP after the closing handshake (RFC 6455 §7.1.1): the server closes TCP first (checked in
// every server case: the fuzzing client waits for the server's FIN), the client waits for it.
cases.push(
  {
    id: '7.8.1',
    title: 'after the closing handshake the client waits for the server to close TCP',
    roles: ['client'],
    actions: [
      send(close(1000)),
      awaitClose('the close echo'),
      expectNoFin(300, 'RFC 6455 §7.1.1: the client SHOULD wait for the server to close TCP'),
    ],
    close: 1000,
  },
  {
    id: '7.8.2',
    title: 'after failing the connection the client still lets the server close TCP',
    roles: ['client'],
    actions: [
      send(text(hex('ff'))),
      awaitClose('the 1007 close'),
      send(close(1007)),
      expectNoFin(300, 'RFC 6455 §7.1.1: the client SHOULD wait for the server to close TCP'),
    ],
    close: 1007,
  },
  {
    id: '7.10.1',
    title: 'TCP FIN without a close frame: the endpoint closes TCP',
    actions: [send(text('Hello')), wait(20), fin()],
    frames: [text('Hello')],
    close: 'tcp',
  },
  {
    id: '7.10.2',
    title: 'TCP FIN in the middle of a frame: the endpoint closes TCP',
    actions: [send(part(text('never finished'), 0, 5)), wait(20), fin()],
    close: 'tcp',
  },
  {
    id: '7.10.3',
    title: 'close frame and FIN at once: the close is still echoed',
    actions: [send(close(1000)), fin()],
    close: 1000,
  },
  {
    id: '7.10.4',
    title: 'message, close and FIN at once: echo, then the close',
    actions: [send(text('last words'), close(1001)), fin()],
    frames: [text('last words')],
    close: 1001,
  },
);

const VALID = [
  1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999,
];
VALID.forEach((code, i) => {
  cases.push({
    id: `7.7.${i + 1}`,
    title: `close with valid code ${code} echoed with ${code}`,
    actions: [send(close(code, 'reason'))],
    close: code,
  });
});

const INVALID = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];
INVALID.forEach((code, i) => {
  cases.push({
    id: `7.9.${i + 1}`,
    title: `close with invalid code ${code}`,
    actions: [send(close(code))],
    close: 1002,
  });
});

conformanceSuite('Autobahn 7: closing', cases);
