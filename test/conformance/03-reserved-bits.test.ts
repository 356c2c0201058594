// Autobahn 3.x: reserved bits. RFC 6455 §5.2: RSV1-3 MUST be 0 unless an extension defining
// them was negotiated (none is here), else the receiver MUST fail the connection (1002).
// Each case sends a valid text first (echoed), then the bad frame, then a ping that must not be
// answered: the endpoint stops reading at the bad frame.

import {
  binary,
  type ConformanceCase,
  close,
  conformanceSuite,
  cont,
  ping,
  send,
  sendChopped,
  text,
} from '../helpers/conformance-runner.js';
import type { RawFrame } from '../helpers/frames.js';

const rsvBits = (rsv: number) => ({
  rsv1: (rsv & 4) !== 0,
  rsv2: (rsv & 2) !== 0,
  rsv3: (rsv & 1) !== 0,
});
const rsvName = (rsv: number) =>
  ['RSV1', 'RSV2', 'RSV3'].filter((_, i) => (rsv & (4 >> i)) !== 0).join('+');

const kinds: [string, (rsv: number) => RawFrame][] = [
  ['text', (rsv) => text('with reserved bits', rsvBits(rsv))],
  ['binary', (rsv) => binary(Buffer.from([0, 1, 2, 3, 0xff]), rsvBits(rsv))],
  ['ping', (rsv) => ping('with reserved bits', rsvBits(rsv))],
  ['close', (rsv) => close(1000, '', rsvBits(rsv))],
];

const cases: ConformanceCase[] = [];
kinds.forEach(([kind, make], k) => {
  for (let rsv = 1; rsv <= 7; rsv++) {
    cases.push({
      id: `3.${k + 1}.${rsv}`,
      title: `${kind} frame with ${rsvName(rsv)} after a valid text; nothing after it is answered`,
      actions: [send(text('before')), send(make(rsv), ping('after')), send(close(1000))],
      frames: [text('before')],
      close: 1002,
    });
  }
});

// Chopped: the bad header arrives one byte at a time.
for (const rsv of [2, 4, 7]) {
  cases.push({
    id: `3.5.${rsv}`,
    title: `text frame with ${rsvName(rsv)} written in 1-byte chunks`,
    actions: [sendChopped({ size: 1 }, [text('before'), text('bad', rsvBits(rsv)), ping('x')])],
    frames: [text('before')],
    close: 1002,
  });
}

cases.push(
  {
    id: '3.6.1',
    title: 'RSV1 on a continuation frame of a fragmented text',
    actions: [send(text('frag', { fin: false }), cont('ment', { rsv1: true }), ping('after'))],
    close: 1002,
  },
  {
    id: '3.6.2',
    title: 'RSV2 on a continuation frame of a fragmented binary',
    actions: [send(binary('frag', { fin: false }), cont('ment', { rsv2: true }), ping('after'))],
    close: 1002,
  },
  {
    id: '3.6.3',
    title: 'RSV3 on a pong',
    actions: [send(text('before'), { opcode: 0xa, payload: 'p', rsv3: true }, ping('after'))],
    frames: [text('before')],
    close: 1002,
  },
);

conformanceSuite('Autobahn 3: reserved bits', cases);
