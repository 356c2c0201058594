#!/usr/bin/env node
// Runs every compiled test file (build/test/**/*.test.js) with Node's test runner.
// Usage: node scripts/run-tests.mjs [--skip dir[,dir]] [--only dir[,dir]] [extra node --test flags]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const root = 'build/test';
const args = process.argv.slice(2);
const take = (flag) => {
  const i = args.indexOf(flag);
  if (i < 0) return [];
  const [value] = args.splice(i, 2).slice(1);
  return value.split(',');
};
const skip = take('--skip');
const only = take('--only');

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...walk(path));
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = walk(root).filter((file) => {
  const top = relative(root, file).split(sep)[0];
  return !skip.includes(top) && (only.length === 0 || only.includes(top));
});
if (files.length === 0) {
  console.error('no test files found under', root);
  process.exit(1);
}
function run(list, env = {}) {
  const result = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      '--test-concurrency=2',
      '--test-timeout=120000',
      ...args,
      ...list,
    ],
    { stdio: 'inherit', env: { ...process.env, ...env } },
  );
  return result.status ?? 1;
}

let status = run(files);
// The standalone server has two paths: raw TCP handles (the default, used above) and the http
// module. The server-facing suites run again on the second.
const httpPath = files.filter((file) =>
  ['node', 'conformance'].includes(relative(root, file).split(sep)[0]),
);
if (httpPath.length > 0 && process.env.TSWS_NO_FAST_PATH === undefined) {
  console.log('\n# again on the http path (TSWS_NO_FAST_PATH=1)');
  status = run(httpPath, { TSWS_NO_FAST_PATH: '1' }) || status;
}
process.exit(status);
