import { maskBuffer } from '../../protocol/mask.js';

let shared: Buffer | undefined;

/**
 * One read buffer for every raw TCP connection of the process: a read is consumed before the
 * next one starts. It lives in the WebAssembly memory when SIMD unmasking is on, so payloads
 * are unmasked where the kernel put them.
 */
export function readBuffer(): Buffer {
  if (shared === undefined) {
    const view = maskBuffer();
    shared =
      view === undefined
        ? Buffer.allocUnsafeSlow(64 * 1024)
        : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
  }
  return shared;
}
