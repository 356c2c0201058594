// Masking (RFC 6455 §5.3), in place, by size:
//
// - tsws applyMask: what the library runs (the WebAssembly SIMD kernel through its scratch
//   area from `wasmThreshold` bytes on, the JavaScript loop under it, or always the JavaScript
//   loop with TSWS_NO_WASM=1);
// - tsws WASM direct: applyMask on a view of `maskBuffer()` (bytes already in the kernel's
//   memory, as when a binding reads the socket into it; up to its 64 KiB);
// - tsws WASM via copy: the scratch-area path forced at every size (copy in, kernel, copy out);
// - tsws JS loop: applyMaskJs, the fallback (bytes, then aligned 32-bit words);
// - a plain byte loop, ws's JavaScript unmask (what ws runs without bufferutil, and below 32
//   bytes with it), and bufferutil's native unmask.
//
//   node bench/micro/mask.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { createRequire } from 'node:module';
import {
  applyMask,
  applyMaskJs,
  maskBuffer,
  maskInternals,
  wasmMasking,
} from '../../dist/protocol/mask.js';
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

const receive = maskBuffer();
const byCopy = maskInternals.applyMaskByCopy;
const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const cases = [];
for (const size of [16, 125, 1024, 8192, 65536, 1048576]) {
  const buf = Buffer.alloc(size, 0x5a);
  const common = { ops: 1, bytes: size, unit: 'masks' };
  const label = sizeLabel(size);
  cases.push({
    name: `tsws applyMask, ${label}`,
    fn: () => applyMask(buf, 0, size, key, 0, 0),
    ...common,
  });
  if (receive && size <= receive.length) {
    const view = receive.subarray(0, size);
    cases.push({
      name: `tsws WASM direct, ${label}`,
      fn: () => applyMask(view, 0, size, key, 0, 0),
      ...common,
    });
  }
  if (byCopy)
    cases.push({
      name: `tsws WASM via copy, ${label}`,
      fn: () => byCopy(buf, 0, size, key, 0, 0),
      ...common,
    });
  cases.push({
    name: `tsws JS loop, ${label}`,
    fn: () => applyMaskJs(buf, 0, size, key, 0, 0),
    ...common,
  });
  cases.push({ name: `byte loop, ${label}`, fn: () => byteLoop(buf, key), ...common });
  if (wsJs)
    cases.push({
      name: `ws JavaScript unmask, ${label}`,
      fn: () => wsJs.unmask(buf, key),
      ...common,
    });
  if (native)
    cases.push({
      name: `bufferutil native unmask, ${label}`,
      fn: () => native.unmask(buf, key),
      ...common,
    });
}
if (!native)
  process.stderr.write(
    'mask: bufferutil is not installed (or not native): its rows are left out\n',
  );
if (!wasmMasking)
  process.stderr.write('mask: WebAssembly masking is off (TSWS_NO_WASM or no SIMD)\n');

suite(
  `Masking, in place (GB/s of payload); WASM paths from ${maskInternals.wasmThreshold} B`,
  cases,
);
