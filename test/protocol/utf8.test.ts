import assert from 'node:assert/strict';
import { isUtf8 as nodeIsUtf8 } from 'node:buffer';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { isUtf8, Utf8Validator } from '../../src/protocol/index.js';
import { cutStream, runs, type Split, splitArb } from '../helpers/fuzz.js';

// ---- reference: RFC 3629 §4 ----
//   UTF8-2 = %xC2-DF UTF8-tail
//   UTF8-3 = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) / %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//   UTF8-4 = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) / %xF4 %x80-8F 2( UTF8-tail )
type Range = readonly [number, number];
const TAIL: Range = [0x80, 0xbf];

/** The ranges allowed for the bytes after `lead`, or undefined when `lead` cannot start a character. */
function followers(lead: number): readonly Range[] | undefined {
  if (lead <= 0x7f) return [];
  if (lead >= 0xc2 && lead <= 0xdf) return [TAIL];
  if (lead === 0xe0) return [[0xa0, 0xbf], TAIL];
  if ((lead >= 0xe1 && lead <= 0xec) || lead === 0xee || lead === 0xef) return [TAIL, TAIL];
  if (lead === 0xed) return [[0x80, 0x9f], TAIL];
  if (lead === 0xf0) return [[0x90, 0xbf], TAIL, TAIL];
  if (lead >= 0xf1 && lead <= 0xf3) return [TAIL, TAIL, TAIL];
  if (lead === 0xf4) return [[0x80, 0x8f], TAIL, TAIL];
  return undefined;
}

/**
 * Index of the first byte at which `bytes` stops being a prefix of some valid UTF-8 text
 * (-1 when it is one), and whether it ends between characters.
 */
function referencePrefix(bytes: Uint8Array): { firstBad: number; complete: boolean } {
  let i = 0;
  while (i < bytes.length) {
    const next = followers(bytes[i]!);
    if (next === undefined) return { firstBad: i, complete: false };
    i++;
    for (const [lo, hi] of next) {
      if (i === bytes.length) return { firstBad: -1, complete: false };
      const b = bytes[i]!;
      if (b < lo || b > hi) return { firstBad: i, complete: false };
      i++;
    }
  }
  return { firstBad: -1, complete: true };
}

/**
 * Feeds `pieces` (consecutive slices of `whole`, given as [start, end) pairs) to a validator
 * and checks it against the reference: `write` is true for every piece that ends before the
 * first bad byte, false on the piece that holds it; `complete` at the end is isUtf8(whole).
 */
function checkAgainstReference(
  whole: Uint8Array,
  bounds: readonly (readonly [number, number])[],
  mode: 'copies' | 'ranges',
): void {
  const ref = referencePrefix(whole);
  const v = new Utf8Validator();
  const hex = Buffer.from(whole).toString('hex');
  for (const [start, end] of bounds) {
    const ok =
      mode === 'copies'
        ? v.write(Uint8Array.from(whole.subarray(start, end)))
        : v.write(whole, start, end);
    const holdsBad = ref.firstBad >= 0 && ref.firstBad < end;
    assert.equal(
      ok,
      !holdsBad,
      `write of [${start}, ${end}) of ${hex} (first bad byte ${ref.firstBad})`,
    );
    if (!ok) return;
  }
  assert.equal(v.complete, nodeIsUtf8(whole), `complete after ${hex}`);
}

function boundsOf(length: number, split: Split): [number, number][] {
  const pieces = cutStream(new Uint8Array(length), split);
  const out: [number, number][] = [];
  let pos = 0;
  for (const p of pieces) {
    out.push([pos, pos + p.length]);
    pos += p.length;
  }
  return out;
}

// ---- generators biased toward UTF-8 edge cases ----

const encode = (cp: number): number[] => [...Buffer.from(String.fromCodePoint(cp))];
const byteIn = (lo: number, hi: number) => fc.integer({ min: lo, max: hi });
const tail = byteIn(0x80, 0xbf);

const scalarArb = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0x7ff }),
  fc.integer({ min: 0x800, max: 0xffff }).filter((c) => c < 0xd800 || c > 0xdfff),
  fc.integer({ min: 0x10000, max: 0x10ffff }),
  fc.constantFrom(0x7f, 0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfffd, 0xffff, 0x10000, 0x10ffff),
);

/** One "token": a valid character, or one of the ways UTF-8 goes wrong. */
const tokenArb: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 8, arbitrary: scalarArb.map(encode) },
  // Truncated valid sequences.
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        scalarArb.filter((c) => c > 0x7f),
        fc.nat(),
      )
      .map(([c, n]) => {
        const b = encode(c);
        return b.slice(0, 1 + (n % (b.length - 1)));
      }),
  },
  // Overlong forms: C0/C1 leads, E0 80-9F, F0 80-8F.
  { weight: 1, arbitrary: fc.tuple(byteIn(0xc0, 0xc1), tail).map((t) => [...t]) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constant(0xe0), byteIn(0x80, 0x9f), tail).map((t) => [...t]),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constant(0xf0), byteIn(0x80, 0x8f), tail, tail).map((t) => [...t]),
  },
  // UTF-16 surrogates: ED A0-BF.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constant(0xed), byteIn(0xa0, 0xbf), tail).map((t) => [...t]),
  },
  // Above U+10FFFF: F4 90-BF, and F5-FF leads.
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constant(0xf4), byteIn(0x90, 0xbf), tail, tail).map((t) => [...t]),
  },
  { weight: 1, arbitrary: fc.tuple(byteIn(0xf5, 0xff), tail, tail, tail).map((t) => [...t]) },
  { weight: 1, arbitrary: byteIn(0xf5, 0xff).map((b) => [b]) },
  // Lone continuation bytes.
  { weight: 1, arbitrary: tail.map((b) => [b]) },
  // Anything.
  { weight: 1, arbitrary: byteIn(0, 255).map((b) => [b]) },
);

/** Mostly valid text with, sometimes, one or two bad tokens. */
const bytesArb: fc.Arbitrary<Uint8Array> = fc
  .oneof(
    fc.array(tokenArb, { maxLength: 30 }),
    fc.array(scalarArb.map(encode), { maxLength: 30 }),
    fc
      .tuple(
        fc.array(scalarArb.map(encode), { maxLength: 20 }),
        tokenArb,
        fc.array(scalarArb.map(encode), { maxLength: 5 }),
      )
      .map(([a, bad, b]) => [...a, bad, ...b]),
  )
  .map((tokens) => Uint8Array.from(tokens.flat()));

describe('Utf8Validator against the RFC 3629 reference', () => {
  it('the reference agrees with buffer.isUtf8 and the exported isUtf8', () => {
    fc.assert(
      fc.property(bytesArb, (bytes) => {
        const ref = referencePrefix(bytes);
        assert.equal(ref.firstBad < 0 && ref.complete, nodeIsUtf8(bytes));
        assert.equal(isUtf8(bytes), nodeIsUtf8(bytes));
      }),
      { numRuns: runs(2000) },
    );
  });

  it('write fails on the first piece where the prefix stops being valid; complete = isUtf8(whole)', () => {
    fc.assert(
      fc.property(bytesArb, splitArb, fc.boolean(), (bytes, split, asRanges) => {
        checkAgainstReference(bytes, boundsOf(bytes.length, split), asRanges ? 'ranges' : 'copies');
      }),
      { numRuns: runs(3000) },
    );
  });

  it('uniformly random bytes, split anywhere', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), splitArb, (bytes, split) => {
        checkAgainstReference(bytes, boundsOf(bytes.length, split), 'copies');
      }),
      { numRuns: runs(1000) },
    );
  });

  it('long valid runs with a fault near the end (the native fast path plus the tail state machine)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3000 }),
        fc.array(tokenArb, { maxLength: 4 }),
        splitArb,
        (n, tokens, split) => {
          const bytes = Uint8Array.from([...Buffer.from('ж€😀a'.repeat(n >> 2)), ...tokens.flat()]);
          checkAgainstReference(bytes, boundsOf(bytes.length, split), 'ranges');
        },
      ),
      { numRuns: runs(300) },
    );
  });

  it('every sequence of up to 4 bytes over the boundary values, whole and byte by byte', () => {
    const alphabet = [
      0x00, 0x41, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1,
      0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff,
    ];
    const bytes = new Uint8Array(4);
    const visit = (len: number) => {
      if (len > 0) {
        const whole = bytes.slice(0, len);
        checkAgainstReference(whole, [[0, len]], 'ranges');
        checkAgainstReference(
          whole,
          Array.from({ length: len }, (_, i) => [i, i + 1] as const),
          'ranges',
        );
        if (len >= 3)
          checkAgainstReference(
            whole,
            [
              [0, 1],
              [1, len],
            ],
            'ranges',
          );
      }
      if (len === 4) return;
      for (const b of alphabet) {
        bytes[len] = b;
        visit(len + 1);
      }
    };
    visit(0);
  });
});

describe('Utf8Validator: Markus Kuhn stress test categories (Autobahn 6.x)', () => {
  const h = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
  /** [name, bytes, valid] */
  const cases: [string, Buffer, boolean][] = [
    // 1 Some correct UTF-8 text
    ['1 kosme', Buffer.from('κόσμε'), true],
    ['empty', Buffer.alloc(0), true],
    ['Hello-µ@ßöäüàá-UTF-8!!', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!'), true],
    // 2.1 First possible sequence of a certain length
    ['2.1.1 U+0000', h('00'), true],
    ['2.1.2 U+0080', h('c280'), true],
    ['2.1.3 U+0800', h('e0a080'), true],
    ['2.1.4 U+10000', h('f0908080'), true],
    ['2.1.5 5-byte', h('f888808080'), false],
    ['2.1.6 6-byte', h('fc8480808080'), false],
    // 2.2 Last possible sequence of a certain length
    ['2.2.1 U+007F', h('7f'), true],
    ['2.2.2 U+07FF', h('dfbf'), true],
    ['2.2.3 U+FFFF', h('efbfbf'), true],
    ['2.2.4 U+1FFFFF', h('f7bfbfbf'), false],
    ['2.2.5 5-byte', h('fbbfbfbfbf'), false],
    ['2.2.6 6-byte', h('fdbfbfbfbfbf'), false],
    // 2.3 Other boundary conditions
    ['2.3.1 U+D7FF', h('ed9fbf'), true],
    ['2.3.2 U+E000', h('ee8080'), true],
    ['2.3.3 U+FFFD', h('efbfbd'), true],
    ['2.3.4 U+10FFFF', h('f48fbfbf'), true],
    ['2.3.5 U+110000', h('f4908080'), false],
    // 3.1 Unexpected continuation bytes
    ['3.1.1 80', h('80'), false],
    ['3.1.2 bf', h('bf'), false],
    ['3.1.3 80 bf', h('80bf'), false],
    ['3.1.4 80 bf 80', h('80bf80'), false],
    [
      '3.1.9 all continuation bytes',
      Buffer.from(Array.from({ length: 64 }, (_, i) => 0x80 + i)),
      false,
    ],
    ['continuation after a complete character', h('c3a9 80'), false],
    // 3.2 Lonely start characters
    ...Array.from({ length: 32 }, (_, i): [string, Buffer, boolean] => [
      `3.2.1 ${(0xc0 + i).toString(16)} 20`,
      Buffer.from([0xc0 + i, 0x20]),
      false,
    ]),
    ...Array.from({ length: 16 }, (_, i): [string, Buffer, boolean] => [
      `3.2.2 ${(0xe0 + i).toString(16)} 20`,
      Buffer.from([0xe0 + i, 0x20]),
      false,
    ]),
    ...Array.from({ length: 8 }, (_, i): [string, Buffer, boolean] => [
      `3.2.3 ${(0xf0 + i).toString(16)} 20`,
      Buffer.from([0xf0 + i, 0x20]),
      false,
    ]),
    ['3.2.4 f8 20', h('f820'), false],
    ['3.2.5 fc 20', h('fc20'), false],
    // 3.3 Sequences with the last continuation byte missing
    ['3.3.1 c0', h('c0'), false],
    ['3.3.2 e0 80', h('e080'), false],
    ['3.3.3 f0 80 80', h('f08080'), false],
    ['3.3.6 df', h('df'), false],
    ['3.3.7 ef bf', h('efbf'), false],
    ['3.3.8 f7 bf bf', h('f7bfbf'), false],
    ['truncated U+0080', h('c2'), false],
    ['truncated U+0800', h('e0a0'), false],
    ['truncated U+10000', h('f09080'), false],
    ['truncated U+10FFFF', h('f48fbf'), false],
    // 3.4 Concatenation of incomplete sequences
    ['3.4', h('c0 e080 f08080 f8808080 fc80808080 df efbf f7bfbf fbbfbfbf fdbfbfbfbf'), false],
    // 3.5 Impossible bytes
    ['3.5.1 fe', h('fe'), false],
    ['3.5.2 ff', h('ff'), false],
    ['3.5.3 fe fe ff ff', h('fefeffff'), false],
    // 4.1 Overlong ASCII '/'
    ['4.1.1 c0 af', h('c0af'), false],
    ['4.1.2 e0 80 af', h('e080af'), false],
    ['4.1.3 f0 80 80 af', h('f08080af'), false],
    ['4.1.4 f8 80 80 80 af', h('f8808080af'), false],
    ['4.1.5 fc 80 80 80 80 af', h('fc80808080af'), false],
    // 4.2 Maximum overlong sequences
    ['4.2.1 c1 bf', h('c1bf'), false],
    ['4.2.2 e0 9f bf', h('e09fbf'), false],
    ['4.2.3 f0 8f bf bf', h('f08fbfbf'), false],
    ['4.2.4 f8 87 bf bf bf', h('f887bfbfbf'), false],
    // 4.3 Overlong NUL
    ['4.3.1 c0 80', h('c080'), false],
    ['4.3.2 e0 80 80', h('e08080'), false],
    ['4.3.3 f0 80 80 80', h('f0808080'), false],
    // 5.1 Single UTF-16 surrogates
    ['5.1.1 U+D800', h('eda080'), false],
    ['5.1.2 U+DB7F', h('edadbf'), false],
    ['5.1.3 U+DB80', h('edae80'), false],
    ['5.1.4 U+DBFF', h('edafbf'), false],
    ['5.1.5 U+DC00', h('edb080'), false],
    ['5.1.6 U+DF80', h('edbe80'), false],
    ['5.1.7 U+DFFF', h('edbfbf'), false],
    // 5.2 Paired UTF-16 surrogates
    ['5.2.1 U+D800 U+DC00', h('eda080edb080'), false],
    ['5.2.2 U+D800 U+DFFF', h('eda080edbfbf'), false],
    ['5.2.8 U+DBFF U+DFFF', h('edafbfedbfbf'), false],
    // 5.3 Noncharacters are valid UTF-8
    ['5.3.1 U+FFFE', h('efbfbe'), true],
    ['5.3.2 U+FFFF', h('efbfbf'), true],
    ['5.3.3 U+FDD0', h('efb790'), true],
    ['5.3.4 U+10FFFE', h('f48fbfbe'), true],
    // Autobahn 6.4: fail fast on a fault in the middle
    ['6.4.1', Buffer.concat([Buffer.from('κόσμε'), h('f4908080'), Buffer.from('edited')]), false],
    ['6.4.2', Buffer.concat([Buffer.from('κόσμε'), h('f4908080')]), false],
    ['6.4.3', Buffer.concat([Buffer.from('κόσμε'), h('f490'), Buffer.from('edited')]), false],
    ['6.4.4', Buffer.concat([Buffer.from('κόσμε'), h('f490')]), false],
  ];

  for (const [name, bytes, valid] of cases) {
    it(`${name}: ${valid ? 'valid' : 'invalid'}, in every split`, () => {
      assert.equal(nodeIsUtf8(bytes), valid, 'buffer.isUtf8');
      assert.equal(
        referencePrefix(bytes).firstBad < 0 && referencePrefix(bytes).complete,
        valid,
        'reference',
      );
      checkAgainstReference(bytes, [[0, bytes.length]], 'copies');
      checkAgainstReference(
        bytes,
        Array.from(bytes, (_, i) => [i, i + 1] as const),
        'copies',
      );
      for (let cut = 0; cut <= bytes.length; cut++) {
        checkAgainstReference(
          bytes,
          [
            [0, cut],
            [cut, bytes.length],
          ],
          'ranges',
        );
      }
    });
  }

  it('6.4.x: the fault is found as soon as its byte arrives, not at the end of the text', () => {
    const v = new Utf8Validator();
    assert.equal(v.write(Buffer.from('κόσμε')), true);
    assert.equal(v.write(Buffer.from([0xf4])), true);
    assert.equal(v.write(Buffer.from([0x90])), false);
  });
});

describe('Utf8Validator state', () => {
  it('complete is true initially and false inside a sequence', () => {
    const v = new Utf8Validator();
    assert.equal(v.complete, true);
    assert.equal(v.write(Buffer.from([0xf0, 0x9f])), true);
    assert.equal(v.complete, false);
    assert.equal(v.write(Buffer.from([0x98])), true);
    assert.equal(v.complete, false);
    assert.equal(v.write(Buffer.from([0x80])), true);
    assert.equal(v.complete, true);
  });

  it('reset forgets an open sequence', () => {
    const v = new Utf8Validator();
    assert.equal(v.write(Buffer.from([0xe0])), true);
    v.reset();
    assert.equal(v.complete, true);
    // Without the reset, 0x41 would fail as a missing continuation byte.
    assert.equal(v.write(Buffer.from('A')), true);
    // The narrowed range of E0 (A0-BF) must not leak into the next sequence after a reset.
    assert.equal(v.write(Buffer.from([0xe0])), true);
    v.reset();
    assert.equal(v.write(Buffer.from([0xe1, 0x80, 0x80])), true);
    assert.equal(v.complete, true);
  });

  it('an empty write changes nothing', () => {
    const v = new Utf8Validator();
    assert.equal(v.write(Buffer.alloc(0)), true);
    assert.equal(v.write(Buffer.from([0xc3])), true);
    assert.equal(v.write(Buffer.alloc(0)), true);
    assert.equal(v.write(Buffer.from([0xa9]), 0, 0), true);
    assert.equal(v.complete, false);
    assert.equal(v.write(Buffer.from([0xa9])), true);
    assert.equal(v.complete, true);
  });

  it('honours start and end, ignoring the bytes outside them', () => {
    const v = new Utf8Validator();
    const buf = Buffer.from([0xff, 0xc3, 0xa9, 0xff]);
    assert.equal(v.write(buf, 1, 3), true);
    assert.equal(v.complete, true);
    assert.equal(v.write(buf, 1, 2), true);
    assert.equal(v.complete, false);
    assert.equal(v.write(buf, 2, 3), true);
    assert.equal(v.complete, true);
  });
});
