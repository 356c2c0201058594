#!/usr/bin/env node
// The long fuzzing run (issue 6): every property and fuzz test of the protocol core, the
// handshake parsers and the deflate negotiation, with FUZZ_RUNS times their CI number of cases
// (CI runs them once per `npm test`, about 15,000 cases). Needs `npm run build:test` first
// (`npm run fuzz` does it).
//
//   node scripts/fuzz.mjs [--factor 100] [--only fuzz,protocol]
//
// --factor 100 runs about 1.5 million cases (roughly half an hour on one core). A failure prints
// fast-check's seed and path, which replay it: add { seed, path } to the failing fc.assert.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    factor: { type: 'string', default: '100' },
    only: { type: 'string' },
  },
});
const factor = Number(values.factor);
if (!(factor > 0)) {
  console.error('--factor takes a positive number');
  process.exit(2);
}
const root = 'build/test';
const only = values.only?.split(',');

function walk(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? walk(path) : name.endsWith('.test.js') ? [path] : [];
    });
}

// The files whose properties scale with FUZZ_RUNS (they call runs() from test/helpers/fuzz.ts).
const files = walk(root).filter(
  (file) =>
    readFileSync(file, 'utf8').includes('runs(') &&
    (only === undefined || only.includes(relative(root, file).split(sep)[0])),
);
if (files.length === 0) {
  console.error(`no property tests found under ${root}: run npm run build:test first`);
  process.exit(1);
}

const dir = mkdtempSync(join(tmpdir(), 'tsws-fuzz-'));
const countFile = join(dir, 'cases');
const started = Date.now();
let status = 0;
for (const file of files) {
  const t0 = Date.now();
  const result = spawnSync(
    process.execPath,
    ['--test', '--test-reporter=dot', '--test-timeout=14400000', file],
    {
      stdio: 'inherit',
      env: { ...process.env, FUZZ_RUNS: String(factor), FUZZ_CASES_FILE: countFile },
    },
  );
  console.log(
    `${relative(root, file)}: ${result.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  if (result.status !== 0) status = 1;
}
let cases = 0;
try {
  for (const line of readFileSync(countFile, 'utf8').split('\n')) cases += Number(line) || 0;
} catch {}
rmSync(dir, { recursive: true, force: true });
console.log(
  `\n${status === 0 ? 'no failure' : 'FAILURES (see above)'}: ${cases.toLocaleString('en')} generated cases ` +
    `(FUZZ_RUNS=${factor}) in ${((Date.now() - started) / 60000).toFixed(1)} min`,
);
process.exit(status);
