// Frame writing: tsws's Connection.sendBinary + dataToSend (the chunks for one write), as a
// server (no masking) and as a client (a random key and masking per frame); one frame per
// flush, and 16 frames per flush (a window's worth, as the binding batches a tick's sends).
// ws's Sender.frame (which builds the header and masks, without writing) for reference.
//
//   node bench/micro/write.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { createRequire } from 'node:module';
import { Connection } from '../../dist/protocol/index.js';
import { sizeLabel, suite } from './harness.mjs';

const require = createRequire(import.meta.url);
let Sender;
try {
  Sender = require(require.resolve('ws').replace(/index\.js$/, 'lib/sender.js'));
} catch {
  Sender = undefined;
}
let wsNative = false;
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    require('bufferutil');
    wsNative = true;
  } catch {}
}

const handler = {
  onMessage() {},
  onPing() {},
  onPong() {},
  onClose() {},
  onError() {},
};

function header(size, masked) {
  return (size < 126 ? 2 : size < 65536 ? 4 : 10) + (masked ? 4 : 0);
}

const cases = [];
for (const size of [16, 1024, 65536]) {
  const payload = Buffer.alloc(size, 0x62);
  for (const role of ['server', 'client']) {
    const conn = new Connection({ role }, handler);
    const wire = size + header(size, role === 'client');
    // tsws copies payloads up to 8 KiB beside their header; larger server payloads go by
    // reference (no byte is touched: their GB/s is a rate of frames, not of copying).
    const how = role === 'server' && size > 8192 ? ' (by reference)' : '';
    cases.push({
      name: `${role}, ${sizeLabel(size)}${how}, 1 frame per dataToSend`,
      fn: () => {
        conn.sendBinary(payload);
        return conn.dataToSend().length;
      },
      ops: 1,
      bytes: wire,
      unit: 'frames',
    });
    cases.push({
      name: `${role}, ${sizeLabel(size)}${how}, 16 frames per dataToSend`,
      fn: () => {
        for (let i = 0; i < 16; i++) conn.sendBinary(payload);
        return conn.dataToSend().length;
      },
      ops: 16,
      bytes: 16 * wire,
      unit: 'frames',
    });
  }
  if (Sender) {
    for (const mask of [false, true]) {
      const options = { fin: true, rsv1: false, opcode: 2, mask, readOnly: true };
      cases.push({
        name: `ws Sender.frame${wsNative ? ' (bufferutil)' : ' (plain)'}, ${mask ? 'client' : 'server (by reference)'}, ${sizeLabel(size)}`,
        fn: () => Sender.frame(payload, options).length,
        ops: 1,
        bytes: size + header(size, mask),
        unit: 'frames',
      });
    }
  }
}

suite('Frame writing (frames out; GB/s of wire bytes)', cases);
