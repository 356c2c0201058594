// Runs every micro-benchmark of this folder, each in its own process (so one's JIT state does
// not shape another's), passing the options on: `npm run bench:micro -- --time 0.5`.
//
//   node bench/micro/index.mjs [--time 1] [--warmup 0.3] [--filter TEXT] [--json]
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.mjs') && f !== 'index.mjs' && f !== 'harness.mjs')
  .sort();
process.stdout.write(`Node.js ${process.version}; GB/s = 10^9 bytes/s\n`);
let failed = 0;
for (const file of files) {
  const run = spawnSync(process.execPath, [`${dir}${file}`, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  if (run.status !== 0) {
    process.stderr.write(`bench:micro: ${file} failed (${run.signal ?? `status ${run.status}`})\n`);
    failed++;
  }
}
process.exitCode = failed > 0 ? 1 : 0;
