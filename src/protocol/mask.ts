/**
 * Masking (RFC 6455 §5.3): payload byte i is XOR-ed with key[i % 4].
 *
 * Two implementations behind one function, `applyMask`:
 *
 * - a WebAssembly SIMD kernel (src/protocol/wasm/mask.wat, built from source by
 *   scripts/build-wasm.mjs), instantiated synchronously when this module loads. It can only
 *   touch its own linear memory, so a run is masked either directly, when the bytes already
 *   live in that memory (a view of `maskBuffer()`, which a binding may read socket data into),
 *   or by copying it into a scratch area and back, when it is long enough for that to pay;
 * - plain JavaScript: a byte loop for short runs, 32-bit words for longer ones. It is the
 *   fallback when WebAssembly SIMD is missing or `TSWS_NO_WASM=1` is set.
 *
 * Layout of the kernel's memory (fixed size, it never grows, so views on it never detach):
 *
 *   [0, 64 KiB)          receive buffer: `maskBuffer()`, for the binding; never used here
 *   [64 KiB, 192 KiB)    scratch: runs of other buffers are copied here, masked, copied back
 */
import { MASK_WASM_BASE64 } from './wasm/mask-module.generated.js';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * The JavaScript loop switches from bytes to 32-bit words from this length on: making the
 * Uint32Array view (and reading `buffer` and `byteOffset`, which V8 11 does not inline) costs
 * about as much as masking 250 bytes one by one (measured: equal at 256 bytes).
 */
const JS_WORD_THRESHOLD = 256;

/**
 * Runs shorter than this stay in JavaScript whatever buffer they are in. From this length on,
 * a view of the kernel's memory is masked there directly, and any other buffer is copied into
 * the scratch area, masked there and copied back. Telling the two apart reads `buf.buffer`,
 * which alone costs ~16 ns on Node 20 (V8 11 does not inline it); the copy path costs a fixed
 * ~60-75 ns in all (the check, one or two views, two copies, the call). The byte loop costs
 * ~0.6 ns per byte when it only ever sees Buffers and ~1 ns when it also sees Uint8Arrays (as
 * in a process that both receives and sends): the copy path wins from ~112 bytes on in the
 * first case and ~80 in the second. Measured on Node 20 / x64, see bench/micro/mask.mjs.
 */
const WASM_THRESHOLD = 96;

/** Size of the receive buffer handed out by `maskBuffer()`. */
const RECEIVE_SIZE = 65536;
const RECEIVE_OFFSET = 0;
const SCRATCH_OFFSET = RECEIVE_OFFSET + RECEIVE_SIZE;

type Kernel = (ptr: number, len: number, key: number) => void;

interface Wasm {
  kernel: Kernel;
  buffer: ArrayBuffer;
  scratch: Uint8Array;
  receive: Uint8Array;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function wasmDisabled(): boolean {
  const flag = globalThis.process?.env?.TSWS_NO_WASM;
  return flag !== undefined && flag !== '' && flag !== '0';
}

/** Instantiates the kernel, or returns undefined if WebAssembly (with SIMD) is unavailable or disabled. */
function loadWasm(): Wasm | undefined {
  if (wasmDisabled() || typeof WebAssembly !== 'object') return undefined;
  try {
    const bytes = decodeBase64(MASK_WASM_BASE64);
    // An engine without SIMD rejects the module here rather than throwing later.
    if (!WebAssembly.validate(bytes)) return undefined;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes));
    const { mask, memory } = instance.exports as { mask: Kernel; memory: WebAssembly.Memory };
    const buffer = memory.buffer;
    const scratchSize = buffer.byteLength - SCRATCH_OFFSET;
    if (scratchSize < RECEIVE_SIZE || scratchSize % 16 !== 0) return undefined;
    return {
      kernel: mask,
      buffer,
      scratch: new Uint8Array(buffer, SCRATCH_OFFSET, scratchSize),
      receive: new Uint8Array(buffer, RECEIVE_OFFSET, RECEIVE_SIZE),
    };
  } catch {
    return undefined;
  }
}

const wasm = loadWasm();
const kernel = wasm?.kernel;
const wasmBuffer = wasm?.buffer;

/** Whether `applyMask` uses the WebAssembly SIMD kernel (false: the JavaScript loop only). */
export const wasmMasking: boolean = wasm !== undefined;

/**
 * A 64 KiB view of the kernel's memory reserved for the binding (undefined when WebAssembly
 * masking is off): data read into it, e.g. from a socket, is unmasked by `applyMask` (on this
 * view or a subarray of it, from `wasmThreshold` bytes on) in place, without any copy. Always
 * the same view, one per thread, and it never detaches; this module never writes to it on its
 * own. Whoever reads into it owns it: payload views of it are only valid until the next read.
 */
export function maskBuffer(): Uint8Array | undefined {
  return wasm?.receive;
}

/** Layout and thresholds, for tests and benchmarks. */
export const maskInternals = {
  receiveOffset: RECEIVE_OFFSET,
  receiveSize: RECEIVE_SIZE,
  scratchOffset: SCRATCH_OFFSET,
  scratchSize: wasm?.scratch.length ?? 0,
  wasmThreshold: WASM_THRESHOLD,
  jsWordThreshold: JS_WORD_THRESHOLD,
  /** The kernel's memory, or undefined when WebAssembly masking is off. */
  memory: wasmBuffer,
  /**
   * `applyMask` forced through the scratch area whatever the length (undefined when
   * WebAssembly masking is off), to test and measure that path below its threshold.
   */
  applyMaskByCopy:
    wasm === undefined
      ? undefined
      : (
          buf: Uint8Array,
          start: number,
          end: number,
          key: Uint8Array,
          keyOffset: number,
          phase: number,
        ): void => {
          if (end > start)
            maskByCopy(buf, buf.buffer, start, end, keyWord(key, keyOffset, phase & 3));
        },
  /**
   * `applyMask` forced to call the kernel in place whatever the length, on a view of the
   * kernel's memory only (undefined when WebAssembly masking is off).
   */
  applyMaskDirect:
    wasm === undefined
      ? undefined
      : (
          buf: Uint8Array,
          start: number,
          end: number,
          key: Uint8Array,
          keyOffset: number,
          phase: number,
        ): void => {
          if (buf.buffer !== wasmBuffer || start < 0 || end > buf.length) {
            throw new RangeError('not a range of a view of the masking memory');
          }
          if (end > start) {
            kernel!(buf.byteOffset + start, end - start, keyWord(key, keyOffset, phase & 3));
          }
        },
} as const;

/** The 4 key bytes from phase `p` on, as the little-endian word the kernel takes. */
function keyWord(key: Uint8Array, keyOffset: number, p: number): number {
  return (
    key[keyOffset + p]! |
    (key[keyOffset + ((p + 1) & 3)]! << 8) |
    (key[keyOffset + ((p + 2) & 3)]! << 16) |
    (key[keyOffset + ((p + 3) & 3)]! << 24)
  );
}

/**
 * XOR `buf[start..end)` in place with `key` (4 bytes at `keyOffset`), starting at key phase
 * `phase` (the number of payload bytes before `start` in this frame, mod 4 is enough).
 */
export function applyMask(
  buf: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  keyOffset: number,
  phase: number,
): void {
  const length = end - start;
  // The range check keeps the kernel (which can reach all of its memory) inside the view.
  if (length >= WASM_THRESHOLD && kernel !== undefined && start >= 0 && end <= buf.length) {
    const word = keyWord(key, keyOffset, phase & 3);
    const backing = buf.buffer;
    if (backing === wasmBuffer) {
      // A view of the kernel's memory (e.g. of `maskBuffer()`): in place, no copy.
      kernel(buf.byteOffset + start, length, word);
    } else {
      maskByCopy(buf, backing, start, end, word);
    }
    return;
  }
  applyMaskJs(buf, start, end, key, keyOffset, phase);
}

/**
 * Block size of the copy path for runs that fit the scratch area: a 16 KiB block stays in L1
 * between the copy in, the kernel and the copy out, which measured ~10% faster up to 128 KiB
 * runs. Longer runs go in whole-scratch (128 KiB) blocks, ~15% faster there: fewer blocks.
 */
const SMALL_BLOCK = 16384;

/** Masks `buf[start..end)` through the scratch area, one block at a time. */
function maskByCopy(
  buf: Uint8Array,
  backing: ArrayBufferLike,
  start: number,
  end: number,
  word: number,
): void {
  const { scratch } = wasm!;
  const size = end - start <= scratch.length ? SMALL_BLOCK : scratch.length;
  // Every block but the last is a multiple of 16 bytes long: the key word stays in phase.
  for (let i = start; i < end; i += size) {
    const n = Math.min(end - i, size);
    // The whole of `buf` needs no new view (typed-array views cost tens of nanoseconds).
    scratch.set(n === buf.length ? buf : new Uint8Array(backing, buf.byteOffset + i, n));
    kernel!(SCRATCH_OFFSET, n, word);
    buf.set(new Uint8Array(wasmBuffer!, SCRATCH_OFFSET, n), i);
  }
}

/**
 * The JavaScript implementation of `applyMask` (same contract): what runs when WebAssembly
 * masking is off, and for runs too short for the kernel. Exported for tests.
 */
export function applyMaskJs(
  buf: Uint8Array,
  start: number,
  end: number,
  key: Uint8Array,
  keyOffset: number,
  phase: number,
): void {
  let i = start;
  let p = phase & 3;
  if (end - start >= JS_WORD_THRESHOLD) {
    // Byte-wise up to a 4-byte aligned address, then whole words.
    while (((buf.byteOffset + i) & 3) !== 0) {
      buf[i++] ^= key[keyOffset + p]!;
      p = (p + 1) & 3;
    }
    const words = (end - i) >>> 2;
    const k0 = key[keyOffset + p]!;
    const k1 = key[keyOffset + ((p + 1) & 3)]!;
    const k2 = key[keyOffset + ((p + 2) & 3)]!;
    const k3 = key[keyOffset + ((p + 3) & 3)]!;
    const word = LITTLE_ENDIAN
      ? (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)) >>> 0
      : ((k0 << 24) | (k1 << 16) | (k2 << 8) | k3) >>> 0;
    const view = new Uint32Array(buf.buffer, buf.byteOffset + i, words);
    for (let w = 0; w < words; w++) view[w]! ^= word;
    i += words << 2;
  }
  // Bytes, four per iteration with the key bytes in locals.
  const k0 = key[keyOffset + p]!;
  const k1 = key[keyOffset + ((p + 1) & 3)]!;
  const k2 = key[keyOffset + ((p + 2) & 3)]!;
  const k3 = key[keyOffset + ((p + 3) & 3)]!;
  const stop = end - 3;
  for (; i < stop; i += 4) {
    buf[i]! ^= k0;
    buf[i + 1]! ^= k1;
    buf[i + 2]! ^= k2;
    buf[i + 3]! ^= k3;
  }
  if (i < end) {
    buf[i++]! ^= k0;
    if (i < end) {
      buf[i++]! ^= k1;
      if (i < end) buf[i]! ^= k2;
    }
  }
}

/** Fills 4-byte masking keys into a frame header. */
export type MaskGenerator = (target: Uint8Array, offset: number) => void;

const POOL_SIZE = 8192;
let pool: Uint8Array | undefined;
let poolOffset = POOL_SIZE;

/**
 * The default masking-key source: a cryptographically strong generator (RFC 6455 §5.3 asks
 * for unpredictable keys), drawn in batches of 2048 keys rather than one call per frame.
 */
export const randomMask: MaskGenerator = (target, offset) => {
  if (poolOffset === POOL_SIZE) {
    pool ??= new Uint8Array(POOL_SIZE);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  const p = pool!;
  target[offset] = p[poolOffset]!;
  target[offset + 1] = p[poolOffset + 1]!;
  target[offset + 2] = p[poolOffset + 2]!;
  target[offset + 3] = p[poolOffset + 3]!;
  poolOffset += 4;
};
