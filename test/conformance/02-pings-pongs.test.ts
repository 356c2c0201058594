// Autobahn 2.x: pings and pongs (RFC 6455 §5.5.2, §5.5.3). A ping is answered by a pong with
// the same payload; a control frame carries at most 125 bytes (§5.5); an unsolicited pong is
// ignored.
import {
  awaitClose,
  type ConformanceCase,
  close,
  conformanceSuite,
  headerOnly,
  ping,
  pong,
  send,
  sendChopped,
  text,
} from '../helpers/conformance-runner.js';
import { patternBytes } from '../helpers/fuzz.js';

const p125 = patternBytes(125, 125);
const p126 = patternBytes(126, 126);
const binaryPayload = Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff]);
const tenPings = Array.from({ length: 10 }, (_, i) => ping(`payload ${i}`));
const tenPongs = Array.from({ length: 10 }, (_, i) => pong(`payload ${i}`));

const cases: ConformanceCase[] = [
  {
    id: '2.1',
    title: 'ping without payload → pong without payload',
    actions: [send(ping()), send(close(1000))],
    frames: [pong()],
    close: 1000,
  },
  {
    id: '2.2',
    title: 'ping with a small text payload → pong with it',
    actions: [send(ping('Hello, world!')), send(close(1000))],
    frames: [pong('Hello, world!')],
    close: 1000,
  },
  {
    id: '2.3',
    title: 'ping with a binary payload → pong with it',
    actions: [send(ping(binaryPayload)), send(close(1000))],
    frames: [pong(binaryPayload)],
    close: 1000,
  },
  {
    id: '2.4',
    title: 'ping with a 125-byte payload → pong with it',
    actions: [send(ping(p125)), send(close(1000))],
    frames: [pong(p125)],
    close: 1000,
  },
  {
    id: '2.5',
    title: 'ping with a 126-byte payload',
    actions: [send(ping(p126)), send(close(1000))],
    close: 1002,
  },
  {
    id: '2.5.1',
    title: 'ping declaring 126 bytes is refused on its header',
    actions: [send(headerOnly(ping(), 126n)), awaitClose('refused on the header'), send(p126)],
    close: 1002,
  },
  {
    id: '2.5.2',
    title: 'ping with 126 bytes after a text message: the text is echoed',
    actions: [send(text('before')), send(ping(p126), ping('after')), send(close(1000))],
    frames: [text('before')],
    close: 1002,
  },
  {
    id: '2.6',
    title: 'ping with a 125-byte payload in 1-byte chunks → pong with it',
    actions: [sendChopped({ size: 1 }, [ping(p125)]), send(close(1000))],
    frames: [pong(p125)],
    close: 1000,
  },
  {
    id: '2.7',
    title: 'unsolicited pong without payload is ignored',
    actions: [send(pong()), send(close(1000))],
    close: 1000,
  },
  {
    id: '2.8',
    title: 'unsolicited pong with payload is ignored',
    actions: [send(pong('unsolicited pong payload')), send(close(1000))],
    close: 1000,
  },
  {
    id: '2.9',
    title: 'unsolicited pong then ping → only the pong for the ping',
    actions: [send(pong('unsolicited')), send(ping('ping payload')), send(close(1000))],
    frames: [pong('ping payload')],
    close: 1000,
  },
  {
    id: '2.10',
    title: '10 pings in one write → 10 pongs in order',
    actions: [send(...tenPings), send(close(1000))],
    frames: tenPongs,
    close: 1000,
  },
  {
    id: '2.11',
    title: '10 pings in 1-byte chunks → 10 pongs in order',
    actions: [sendChopped({ size: 1 }, tenPings), send(close(1000))],
    frames: tenPongs,
    close: 1000,
    timeoutMs: 30_000,
  },
  {
    id: '2.12',
    title: '10 pings in random chunks → 10 pongs in order',
    actions: [sendChopped({ random: 9 }, tenPings), send(close(1000))],
    frames: tenPongs,
    close: 1000,
  },
  {
    id: '2.13',
    title: 'ping with a 125-byte payload written as header, then payload after a pause',
    actions: [sendChopped({ at: [2, 6, 70] }, [ping(p125)], 20), send(close(1000))],
    frames: [pong(p125)],
    close: 1000,
  },
  {
    id: '2.14',
    title: 'pings between messages are answered in arrival order',
    actions: [
      send(text('one'), ping('a'), text('two'), ping('b'), ping('c'), text('three')),
      send(close(1000)),
    ],
    frames: [text('one'), pong('a'), text('two'), pong('b'), pong('c'), text('three')],
    close: 1000,
  },
];

conformanceSuite('Autobahn 2: pings and pongs', cases);
