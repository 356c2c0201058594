#!/usr/bin/env node
// Runs every compiled test file (build/test/**/*.test.js) with Node's test runner, in two passes
// (below), after preparing the real peers some suites need (scripts/peers.mjs): suites whose
// peer is missing are skipped, and the last line sums up the whole run, skipped suites included.
// Usage: node scripts/run-tests.mjs [--skip dir[,dir]] [--only dir[,dir]] [extra node --test flags]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { PEERS, preparePeers } from './peers.mjs';

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

/** A file's path under build/test, with / separators: `browser/chat.test.js`. */
const rel = (file) => relative(root, file).split(sep).join('/');

let files = walk(root).filter((file) => {
  const top = rel(file).split('/')[0];
  return !skip.includes(top) && (only.length === 0 || only.includes(top));
});
if (files.length === 0) {
  console.error('no test files found under', root);
  process.exit(1);
}

// Peers: only when some file to run needs one.
const needs = (peer, file) => peer.files.some((prefix) => rel(file).startsWith(prefix));
const skippedSuites = [];
let missing = [];
if (files.some((file) => PEERS.some((peer) => needs(peer, file)))) {
  missing = await preparePeers();
  for (const peer of missing) {
    const left = files.filter((file) => needs(peer, file));
    if (left.length === 0) continue;
    files = files.filter((file) => !needs(peer, file));
    const suites = peer.files.join(', ');
    skippedSuites.push(`${suites} (${peer.name} ${peer.why}: ${peer.tests})`);
    console.log(`peers: ${peer.name} is missing (${peer.why}); skipping ${suites}: ${peer.tests}`);
  }
}

const reportDir = mkdtempSync(join(tmpdir(), 'tsws-tests-'));
const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };

/** One run of the test runner: the spec report for people, a TAP copy for the totals. */
function run(name, list, env = {}) {
  const tap = join(reportDir, `${name}.tap`);
  const result = spawnSync(
    process.execPath,
    [
      '--test',
      // node:test's MockTimers (test/node) warns that it is experimental, on every run.
      '--disable-warning=ExperimentalWarning',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      '--test-concurrency=2',
      '--test-timeout=300000',
      ...args,
      ...list,
    ],
    {
      stdio: 'inherit',
      env: { ...process.env, TSWS_MISSING_PEERS: missing.map((p) => p.name).join(','), ...env },
    },
  );
  let text = '';
  try {
    text = readFileSync(tap, 'utf8');
  } catch {}
  for (const key of Object.keys(totals)) {
    const all = [...text.matchAll(new RegExp(`^# ${key} (\\d+)$`, 'gm'))];
    if (all.length > 0) totals[key] += Number(all.at(-1)[1]);
  }
  return result.status ?? 1;
}

// The server's pub/sub suites (test/pubsub/server-pubsub*) drive a server too.
const httpPath = files.filter((file) => {
  const path = rel(file);
  return (
    ['node', 'conformance'].includes(path.split('/')[0]) || path.startsWith('pubsub/server-pubsub')
  );
});
const second = httpPath.length > 0 && process.env.TSWS_NO_FAST_PATH === undefined;
const passes = second ? 2 : 1;
console.log(
  `\n# pass 1 of ${passes}: ${files.length} test files; the standalone server on its default path (raw TCP handles)\n`,
);
// No file left (every one needs a missing peer): nothing to run, which is not a failure.
let status = files.length > 0 ? run('tcp', files) : 0;
// The standalone server has two paths: raw TCP handles (the default, used above) and the http
// module. The server-facing suites run again on the second.
if (second) {
  console.log(
    `\n# pass 2 of 2: the server-facing suites (test/node, test/conformance, the server's pub/sub: ${httpPath.length} files) again, on the http module's path (TSWS_NO_FAST_PATH=1)\n`,
  );
  status = run('http', httpPath, { TSWS_NO_FAST_PATH: '1' }) || status;
}
rmSync(reportDir, { recursive: true, force: true });

const t = totals;
const extra = [
  t.cancelled > 0 ? `, ${t.cancelled} cancelled` : '',
  t.todo > 0 ? `, ${t.todo} todo` : '',
].join('');
const suites =
  skippedSuites.length === 0 ? 'no suite skipped' : `suites skipped: ${skippedSuites.join('; ')}`;
console.log(
  `\n${status === 0 ? 'PASS' : 'FAIL'} (${passes} pass${passes > 1 ? 'es' : ''}, Node ${process.version}): ${t.tests} tests, ${t.pass} passed, ${t.fail} failed, ${t.skipped} skipped${extra}; ${suites}`,
);
process.exit(status);
