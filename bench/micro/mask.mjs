// Masking (RFC 6455 §5.3), in place, by size: tsws's applyMask (aligned 32-bit words from 64
// bytes on), a plain byte loop, ws's JavaScript unmask (what ws runs without bufferutil, and
// below 32 bytes with it), and bufferutil's native unmask.
//
//   node bench/micro/mask.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { createRequire } from 'node:module';
import { applyMask } from '../../dist/protocol/index.js';
import { sizeLabel, suite } from './harness.mjs';

const require = createRequire(import.meta.url);

// ws decides at load time: with WS_NO_BUFFER_UTIL set, its exports are the JavaScript loops.
const saved = process.env.WS_NO_BUFFER_UTIL;
process.env.WS_NO_BUFFER_UTIL = '1';
let wsJs;
try {
  wsJs = require(require.resolve('ws').replace(/index\.js$/, 'lib/buffer-util.js'));
} catch {
  wsJs = undefined;
}
if (saved === undefined) delete process.env.WS_NO_BUFFER_UTIL;
else process.env.WS_NO_BUFFER_UTIL = saved;

let native;
try {
  const bufferutil = require('bufferutil');
  if (bufferutil.unmask.toString().includes('[native code]')) native = bufferutil;
} catch {}

function byteLoop(buf, key) {
  for (let i = 0; i < buf.length; i++) buf[i] ^= key[i & 3];
}

const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const cases = [];
for (const size of [16, 125, 1024, 65536, 1048576]) {
  const buf = Buffer.alloc(size, 0x5a);
  const common = { ops: 1, bytes: size, unit: 'masks' };
  cases.push({
    name: `tsws applyMask, ${sizeLabel(size)}`,
    fn: () => applyMask(buf, 0, size, key, 0, 0),
    ...common,
  });
  cases.push({ name: `byte loop, ${sizeLabel(size)}`, fn: () => byteLoop(buf, key), ...common });
  if (wsJs)
    cases.push({
      name: `ws JavaScript unmask, ${sizeLabel(size)}`,
      fn: () => wsJs.unmask(buf, key),
      ...common,
    });
  if (native)
    cases.push({
      name: `bufferutil native unmask, ${sizeLabel(size)}`,
      fn: () => native.unmask(buf, key),
      ...common,
    });
}
if (!native)
  process.stderr.write(
    'mask: bufferutil is not installed (or not native): its rows are left out\n',
  );

suite('Masking, in place (GB/s of payload)', cases);
