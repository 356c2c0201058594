import { UsageFault } from './usage-fault.js';

/**
 * A byte count from the command line: digits with an optional K, M or G suffix (binary
 * multiples: KiB, MiB, GiB; `16K`, `1m`, `2GiB`, `512KB` all work). A UsageFault naming the
 * flag otherwise.
 */
export function parseBytes(flag: string, value: string, options: { zero?: boolean } = {}): number {
  const match = /^(\d+)\s*([kmg]?)(?:i?b)?$/i.exec(value.trim());
  const scale = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[match?.[2]?.toLowerCase() ?? ''];
  const n = match === null || scale === undefined ? Number.NaN : Number(match[1]) * scale;
  if (!(n > 0 || (n === 0 && options.zero === true)) || !Number.isSafeInteger(n)) {
    throw new UsageFault(
      `--${flag} takes a ${options.zero ? '' : 'positive '}number of bytes (K, M, G), not ${JSON.stringify(value)}`,
    );
  }
  return n;
}
