/** Sub-buckets per power of two: < 1.6% bucket error, as in wsload. */
const SUB = 64;

/**
 * A log-linear histogram of nanosecond values: exact below 128 ns, then 64 buckets per power
 * of two. Fixed size (4096 counters) whatever the number of samples.
 */
export class LatencyHistogram {
  readonly counts = new Float64Array(64 * SUB);
  count = 0;
  max = 0;
  sum = 0;

  record(ns: number): void {
    let idx: number;
    if (ns < SUB) {
      idx = Math.max(ns, 0);
    } else if (ns < 0x80000000) {
      const shift = 25 - Math.clz32(ns);
      idx = (shift + 1) * SUB + ((ns >>> shift) - SUB);
    } else {
      idx = bigIndex(ns);
    }
    this.counts[idx]!++;
    this.count++;
    this.sum += ns;
    if (ns > this.max) this.max = ns;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.max = 0;
    this.sum = 0;
  }

  /** The value at quantile `q` (0..1), as its bucket's midpoint, in nanoseconds. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const want = Math.max(1, Math.floor(q * this.count));
    let seen = 0;
    const counts = this.counts;
    for (let i = 0; i < counts.length; i++) {
      seen += counts[i]!;
      if (seen >= want) {
        if (i < 2 * SUB) return i;
        const shift = Math.floor(i / SUB) - 1;
        const top = SUB + (i % SUB);
        return Math.min(top * 2 ** shift + 2 ** shift / 2, this.max);
      }
    }
    return this.max;
  }
}

function bigIndex(ns: number): number {
  let shift = Math.floor(Math.log2(ns)) - 6;
  let top = Math.floor(ns / 2 ** shift);
  // Math.log2 may round across a power of two: correct by one either way.
  if (top >= 2 * SUB) top = Math.floor(ns / 2 ** ++shift);
  else if (top < SUB) top = Math.floor(ns / 2 ** --shift);
  return Math.min((shift + 1) * SUB + (top - SUB), 64 * SUB - 1);
}
