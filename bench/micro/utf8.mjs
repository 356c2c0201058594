// UTF-8 validation of text payloads: Node's native buffer.isUtf8 against tsws's incremental
// Utf8Validator (whole payload, and fed in 1 KiB fragments as a fragmented message would be),
// on ASCII and on multi-byte text (2-, 3- and 4-byte sequences).
//
//   node bench/micro/utf8.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { isUtf8 } from 'node:buffer';
import { Utf8Validator } from '../../dist/protocol/index.js';
import { sizeLabel, suite } from './harness.mjs';

/** About `size` bytes of valid UTF-8 made of `sample`, cut at a character boundary. */
function text(sample, size) {
  let s = '';
  while (Buffer.byteLength(s) < size) s += sample;
  let buf = Buffer.from(s);
  let end = Math.min(size, buf.length);
  while (end > 0 && (buf[end] & 0xc0) === 0x80) end--;
  buf = buf.subarray(0, end);
  if (!isUtf8(buf)) throw new Error('test text is not UTF-8');
  return Buffer.from(buf);
}

const samples = {
  ASCII: 'The quick brown fox jumps over the lazy dog. 0123456789 ',
  'multi-byte': 'héllo wörld · Ελληνικά · русский · 日本語のテキスト · 🙂🚀 ',
};

const cases = [];
for (const [kind, sample] of Object.entries(samples)) {
  for (const size of [16, 1024, 65536]) {
    const buf = text(sample, size);
    const label = `${kind}, ${sizeLabel(size)}`;
    const common = { ops: 1, bytes: buf.length, unit: 'checks' };
    const validator = new Utf8Validator();
    cases.push({ name: `buffer.isUtf8, ${label}`, fn: () => (isUtf8(buf) ? 1 : 0), ...common });
    cases.push({
      name: `Utf8Validator whole, ${label}`,
      fn: () => {
        const ok = validator.write(buf) && validator.complete;
        validator.reset();
        return ok ? 1 : 0;
      },
      ...common,
    });
    if (size > 1024) {
      const pieces = [];
      for (let i = 0; i < buf.length; i += 1024)
        pieces.push(buf.subarray(i, Math.min(i + 1024, buf.length)));
      cases.push({
        name: `Utf8Validator in 1 KiB pieces, ${label}`,
        fn: () => {
          let ok = true;
          for (const piece of pieces) ok = validator.write(piece) && ok;
          ok = ok && validator.complete;
          validator.reset();
          return ok ? 1 : 0;
        },
        ...common,
      });
    }
  }
}

suite('UTF-8 validation (GB/s of text)', cases);
