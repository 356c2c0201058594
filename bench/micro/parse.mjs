// Frame parsing: tsws's protocol core (Connection and its Receiver, from dist/protocol) on a
// buffer of many masked client frames, as a server reads them; ws's Receiver for reference.
// Unmasking is done in place, so every pass over the same buffer toggles its payload between
// masked and clear: binary frames don't care, and no copy is needed between passes.
//
//   node bench/micro/parse.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { createRequire } from 'node:module';
import { Connection, Receiver } from '../../dist/protocol/index.js';
import { sizeLabel, suite } from './harness.mjs';

const require = createRequire(import.meta.url);
const READ = 65536; // what a socket read delivers at most

/** `count` masked binary frames of `size` bytes, back to back, as a client sends them. */
function clientFrames(count, size) {
  const client = new Connection(
    { role: 'client' },
    handler(() => {}),
  );
  const payload = Buffer.alloc(size, 0x61);
  for (let i = 0; i < count; i++) client.sendBinary(payload);
  return Buffer.concat(client.dataToSend());
}

function handler(onMessage) {
  return {
    onMessage,
    onPing() {},
    onPong() {},
    onClose() {},
    onError(error) {
      throw error;
    },
  };
}

/** Splits `buf` as socket reads of at most READ bytes would: each read is its own buffer. */
function reads(buf) {
  const out = [];
  for (let i = 0; i < buf.length; i += READ) {
    const piece = buf.subarray(i, Math.min(i + READ, buf.length));
    const own = Buffer.allocUnsafeSlow(piece.length);
    piece.copy(own);
    out.push(own);
  }
  return out;
}

// ws's Receiver is not exported: load it by its path (ws 8 keeps it in lib/receiver.js).
let WsReceiver;
try {
  WsReceiver = require(require.resolve('ws').replace(/index\.js$/, 'lib/receiver.js'));
} catch {
  WsReceiver = undefined;
}
let wsNative = false;
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    require('bufferutil');
    wsNative = true;
  } catch {}
}

const cases = [];
for (const [size, count] of [
  [16, 48 * 1024],
  [1024, 1024],
  [65536, 16],
]) {
  const wire = clientFrames(count, size);
  const pieces = reads(wire);
  let messages = 0;
  const conn = new Connection(
    { role: 'server', maxPayload: 0 },
    handler(() => messages++),
  );
  const common = { ops: count, bytes: wire.length, unit: 'frames' };
  cases.push({
    name: `Connection, ${sizeLabel(size)} frames, ${sizeLabel(wire.length)} at once`,
    fn: () => {
      conn.receiveData(wire);
      return messages;
    },
    ...common,
  });
  if (pieces.length > 1) {
    cases.push({
      name: `Connection, ${sizeLabel(size)} frames, in 64 KiB reads`,
      fn: () => {
        for (const piece of pieces) conn.receiveData(piece);
        return messages;
      },
      ...common,
    });
  }
  if (size === 16) {
    let received = 0;
    const receiver = new Receiver(
      {
        onMessage: () => received++,
        onControlFrame() {},
        onReceiveError(error) {
          throw error;
        },
      },
      {
        expectMasked: true,
        maxPayload: Number.POSITIVE_INFINITY,
        maxFragments: 65536,
        allowRsv1: false,
        skipUtf8Validation: false,
      },
    );
    cases.push({
      name: `Receiver alone, ${sizeLabel(size)} frames, in 64 KiB reads`,
      fn: () => {
        for (const piece of pieces) receiver.receive(piece);
        return received;
      },
      ...common,
    });
  }
  if (WsReceiver) {
    let wsMessages = 0;
    const receiver = new WsReceiver({ isServer: true, maxPayload: 0 });
    receiver.on('message', () => wsMessages++);
    receiver.on('error', (error) => {
      throw error;
    });
    cases.push({
      name: `ws Receiver${wsNative ? ' (bufferutil)' : ' (plain)'}, ${sizeLabel(size)} frames, in 64 KiB reads`,
      fn: () => {
        for (const piece of pieces) receiver.write(piece);
        return wsMessages;
      },
      ...common,
    });
  }
}

suite('Frame parsing (server side: masked frames in, messages out; GB/s of wire bytes)', cases);
