// The messages of the compression benchmarks: JSON text as an API or a feed sends it, the same
// on every run (seeded), exactly `size` bytes.

/** mulberry32, a small seeded PRNG. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS =
  'the of and to in is that for it as was with be by on not this are or from at which have an they you were her she there been one all we their has would when if so no will order price quantity status shipped pending user session token event update'.split(
    ' ',
  );

/** JSON text of exactly `size` bytes: an array of records (ASCII). */
export function jsonText(size, seed) {
  const random = prng(seed);
  const records = [];
  let length = 2;
  for (let id = seed * 1000; length < size; id++) {
    const words = Array.from(
      { length: 3 + ((random() * 6) | 0) },
      () => WORDS[(random() * WORDS.length) | 0],
    );
    const record = JSON.stringify({
      id,
      user: `user${(random() * 5000) | 0}`,
      price: Math.round(random() * 100000) / 100,
      status: WORDS[(random() * WORDS.length) | 0],
      tags: words.slice(0, 2),
      text: words.join(' '),
    });
    records.push(record);
    length += record.length + 1;
  }
  const text = `[${records.join(',')}]`;
  return Buffer.from(text.length >= size ? text.slice(0, size) : text.padEnd(size));
}
