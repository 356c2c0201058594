// Autobahn 4.x: reserved opcodes. RFC 6455 §5.2: opcodes 3-7 (non-control) and 11-15 (control)
// are reserved; a frame with one MUST fail the connection (1002), whatever came before it.
import {
  type ConformanceCase,
  close,
  conformanceSuite,
  ping,
  send,
  sendChopped,
  text,
} from '../helpers/conformance-runner.js';

const RESERVED = [3, 4, 5, 6, 7, 11, 12, 13, 14, 15];
const kind = (op: number) => (op < 8 ? 'non-control' : 'control');
const cases: ConformanceCase[] = [];

for (const op of RESERVED) {
  const group = op < 8 ? 1 : 2;
  cases.push(
    {
      id: `4.${group}.${op}.1`,
      title: `reserved ${kind(op)} opcode ${op}, empty payload`,
      actions: [send({ opcode: op }), send(close(1000))],
      close: 1002,
    },
    {
      id: `4.${group}.${op}.2`,
      title: `reserved ${kind(op)} opcode ${op} with payload after a valid text; a ping after it is not answered`,
      actions: [
        send(text('before')),
        send({ opcode: op, payload: 'reserved opcode' }, ping('after')),
        send(close(1000)),
      ],
      frames: [text('before')],
      close: 1002,
    },
  );
}

// Inside a fragmented message, and chopped.
for (const op of [3, 7, 11, 15]) {
  cases.push({
    id: `4.3.${op}`,
    title: `reserved opcode ${op} between the fragments of a text`,
    actions: [
      send(
        text('frag', { fin: false }),
        { opcode: op, payload: 'x' },
        { opcode: 0, payload: 'ment' },
      ),
    ],
    close: 1002,
  });
}
for (const op of [5, 13]) {
  cases.push({
    id: `4.4.${op}`,
    title: `reserved opcode ${op} after a valid text, all in 1-byte chunks`,
    actions: [sendChopped({ size: 1 }, [text('before'), { opcode: op, payload: 'xy' }, ping('z')])],
    frames: [text('before')],
    close: 1002,
  });
}

conformanceSuite('Autobahn 4: reserved opcodes', cases);
