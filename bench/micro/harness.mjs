// The micro-benchmark harness: each case runs in batches timed with process.hrtime.bigint(),
// after a warm-up, for about --time seconds; the result is operations/s and GB/s (10^9 bytes).
//
//   node bench/micro/FILE.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    time: { type: 'string', default: '1' },
    warmup: { type: 'string', default: '0.3' },
    filter: { type: 'string', default: '' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});
const TIME = Number(values.time);
const WARMUP = Number(values.warmup);
if (!(TIME > 0) || !(WARMUP >= 0)) {
  process.stderr.write('usage: --time S (> 0) --warmup S (>= 0) --filter TEXT --json\n');
  process.exit(2);
}
if (!existsSync(new URL('../../dist/protocol/index.js', import.meta.url))) {
  process.stderr.write('dist/ is missing: run `npm run build` first (npm run bench:micro does)\n');
  process.exit(1);
}

/** Keeps results alive so that no work is optimized away. */
let sink = 0;

function elapsed(fn, calls) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) sink = (sink + (fn() | 0)) | 0;
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/**
 * Runs and prints a group of cases. A case: `name`, `fn` (one call; may return a number),
 * `ops` (operations per call, e.g. frames), `bytes` (bytes per call), `unit` (what an op is).
 */
export function suite(title, cases) {
  const selected = cases.filter((c) => `${title} ${c.name}`.includes(values.filter));
  if (selected.length === 0) return [];
  if (!values.json) process.stdout.write(`\n${title}\n`);
  const width = Math.max(...selected.map((c) => c.name.length));
  const results = [];
  for (const c of selected) {
    // Calibrate: a batch of calls that takes about 10 ms.
    let batch = 1;
    while (elapsed(c.fn, batch) < 0.01 && batch < 1 << 30) batch *= 2;
    const warmEnd = performance.now() + WARMUP * 1000;
    while (performance.now() < warmEnd) elapsed(c.fn, batch);
    let calls = 0;
    let seconds = 0;
    while (seconds < TIME) {
      seconds += elapsed(c.fn, batch);
      calls += batch;
    }
    const opsPerS = (calls * (c.ops ?? 1)) / seconds;
    const gbPerS = ((c.bytes ?? 0) * calls) / seconds / 1e9;
    const result = {
      suite: title,
      name: c.name,
      unit: c.unit ?? 'ops',
      ops_per_s: opsPerS,
      GB_per_s: gbPerS,
    };
    results.push(result);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const rate = `${human(opsPerS)} ${c.unit ?? 'ops'}/s`;
      const gb = c.bytes ? `${gbPerS.toFixed(gbPerS < 1 ? 3 : 2)} GB/s` : '';
      process.stdout.write(`  ${c.name.padEnd(width)}  ${rate.padStart(20)}  ${gb.padStart(11)}\n`);
    }
  }
  if (sink === 0.5) process.stdout.write(''); // never: the sink stays observable
  return results;
}

function human(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return n.toFixed(1);
}

/** Bytes as a label: 16 B, 1 KiB, 64 KiB, 1 MiB. */
export function sizeLabel(n) {
  if (n >= 1048576)
    return n % 1048576 === 0 ? `${n / 1048576} MiB` : `${(n / 1048576).toFixed(2)} MiB`;
  if (n >= 1024) return n % 1024 === 0 ? `${n / 1024} KiB` : `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}
