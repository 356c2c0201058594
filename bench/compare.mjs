#!/usr/bin/env node
// The benchmark suite: tsws against ws (plain and with bufferutil) and against the raw Node.js
// ceiling (bench/servers/tcp-echo.mjs), every figure from the same run on the same machine.
// Run it with `npm run bench` (which builds first); `node bench/compare.mjs --help` for options.
// docs/benchmarks.md says what each figure means and what limits it.
//
// Each server runs in turn on 127.0.0.1:PORT, pinned to CPU 1 while the load generator runs on
// CPU 0 (taskset). Generators: wsload (shared/tools/wsload, the neutral one, in C) for every
// figure, and `tsws bench` for the throughput figures too. The client-side figure runs
// `tsws bench` and bench/clients/ws-bench.mjs against the tsws echo server. Every figure is the
// median of --runs runs. The result is printed (Markdown) and written to bench/results/.
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
  bufferutilState,
  cpuModel,
  hardFdLimit,
  killAll,
  log,
  note,
  notes,
  Proc,
  packageVersion,
  pinning,
  ROOT,
  sh,
  sleep,
} from './lib/processes.mjs';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 10_000;

const USAGE = `Usage: node bench/compare.mjs [options]     (npm run bench -- [options])

  --runs N           runs per figure; the median is reported (default 3)
  --duration S       measured seconds per run (default 10)
  --warmup S         seconds of load before measuring, per run (default 2)
  --only LIST        figures, comma-separated (default: all but client-64k):
                       16, 1k, 64k, 1m    echo throughput (16 B, 1 KiB, 64 KiB, 1 MiB)
                       lat                round-trip latency p50/p99, 1 connection, 1 in flight
                       mem                idle memory per connection (--mem-conns connections)
                       hs                 handshakes per second (--hs-conns attempts in flight)
                       client             client side: tsws bench vs ws-bench, 16 B
                       client-64k         client side at 64 KiB (masking-bound; not by default)
  --servers LIST     tsws, tsws-http, tsws-serve, tsws-attached, ws, ws-bufferutil, tcp, uv
                     (default: tsws, ws, ws-bufferutil, tcp, uv; "ws+bufferutil" works too). tsws is the standalone fast
                     path; tsws-http the same with a request listener on the port
                     (handleRequest); tsws-serve the server of \`tsws serve\` (demo page, its
                     heartbeat on); tsws-attached attached to an http.Server ({ server })
  --generators LIST  wsload, tsws (default: both; wsload is skipped when it is not found)
  --port N           the port every server listens on (default 9330)
  --mem-conns N      connections for the memory figure (default 10000)
  --mem-settle MS    idle time before the memory is measured (default 15000)
  --hs-conns N       handshake attempts in flight (default 50)
  --wsload PATH      the wsload binary (default: $WSLOAD, ../shared/tools/wsload/wsload, PATH,
                     or built from ../shared/tools/wsload/wsload.c into .tmp/)
  --out DIR          where latest.md and latest.json go (default bench/results)
  --keep-going       record a failed measurement as an error and go on (default: stop)
  --help
`;

// ---------------------------------------------------------------- options

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string' },
    servers: { type: 'string', default: 'tsws,ws,ws-bufferutil,tcp,uv' },
    generators: { type: 'string', default: 'wsload,tsws' },
    port: { type: 'string', default: '9330' },
    'mem-conns': { type: 'string', default: '10000' },
    'mem-settle': { type: 'string', default: '15000' },
    'hs-conns': { type: 'string', default: '50' },
    wsload: { type: 'string' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
    'keep-going': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (opt.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function usageError(message) {
  process.stderr.write(`compare: ${message}\n\n${USAGE}`);
  process.exit(2);
}
function intOption(name, min) {
  const n = Number(opt[name]);
  if (!Number.isInteger(n) || n < min) usageError(`--${name} takes an integer >= ${min}`);
  return n;
}
function secondsOption(name, min) {
  const n = Number(opt[name]);
  if (!Number.isFinite(n) || n < min) usageError(`--${name} takes seconds >= ${min}`);
  return n;
}
function listOption(name, allowed, aliases = {}) {
  const list = opt[name]
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => aliases[s] ?? s);
  for (const item of list) {
    if (!allowed.includes(item)) usageError(`--${name}: unknown "${item}" (${allowed.join(', ')})`);
  }
  if (list.length === 0) usageError(`--${name} is empty`);
  return [...new Set(list)];
}

const ALL_FIGURES = ['16', '1k', '64k', '1m', 'lat', 'mem', 'hs', 'client', 'client-64k'];
const DEFAULT_FIGURES = ALL_FIGURES.filter((id) => id !== 'client-64k');
const RUNS = intOption('runs', 1);
const DURATION = secondsOption('duration', 0.1);
const WARMUP = secondsOption('warmup', 0);
const PORT = intOption('port', 1);
if (PORT > 65535) usageError('--port takes 1-65535');
let MEM_CONNS = intOption('mem-conns', 1);
const MEM_SETTLE_MS = intOption('mem-settle', 0);
const HS_CONNS = intOption('hs-conns', 1);
if (opt.only === undefined) opt.only = DEFAULT_FIGURES.join(',');
const ONLY = new Set(
  listOption('only', ALL_FIGURES, { '16b': '16', '1kb': '1k', '64kb': '64k', '1mb': '1m' }),
);
const SERVER_KEYS = listOption('servers', [...COLUMNS_ALL()], {
  'ws+bufferutil': 'ws-bufferutil',
  ceiling: 'tcp',
});
const GENERATORS = new Set(listOption('generators', ['wsload', 'tsws']));
const OUT_DIR = path.resolve(opt.out);
const KEEP_GOING = opt['keep-going'];

// ---------------------------------------------------------------- what is measured

const SERVERS = {
  tsws: { label: 'tsws', file: 'bench/servers/tsws-echo.mjs', env: {} },
  // The other documented server modes (bench/servers/tsws-echo.mjs --mode).
  'tsws-http': {
    label: 'tsws +HTTP',
    file: 'bench/servers/tsws-echo.mjs',
    args: ['--mode', 'handle-request'],
    env: {},
  },
  'tsws-serve': {
    label: 'tsws serve',
    file: 'bench/servers/tsws-echo.mjs',
    args: ['--mode', 'serve'],
    env: {},
  },
  'tsws-attached': {
    label: 'tsws attached',
    file: 'bench/servers/tsws-echo.mjs',
    args: ['--mode', 'attached'],
    env: {},
  },
  ws: { label: 'ws', file: 'bench/servers/ws-echo.mjs', env: { WS_NO_BUFFER_UTIL: '1' } },
  'ws-bufferutil': {
    label: 'ws+bufferutil',
    file: 'bench/servers/ws-echo.mjs',
    env: { WS_NO_BUFFER_UTIL: undefined },
  },
  tcp: { label: 'ceiling (net)', file: 'bench/servers/tcp-echo.mjs', env: {}, raw: true },
  uv: { label: 'ceiling (libuv)', file: 'bench/servers/uv-echo.mjs', env: {}, raw: true },
};
const COLUMNS = COLUMNS_ALL();
/** Every server key, in the order of the tables' columns. */
function COLUMNS_ALL() {
  return ['tsws', 'tsws-http', 'tsws-serve', 'tsws-attached', 'ws', 'ws-bufferutil', 'tcp', 'uv'];
}

/** Echo throughput figures: the load and the metric reported. */
const THROUGHPUT = [
  {
    id: '16',
    name: 'echo 16 B',
    conns: 100,
    window: 16,
    size: 16,
    metric: 'msgs_per_s',
    unit: 'msgs/s',
  },
  {
    id: '1k',
    name: 'echo 1 KiB',
    conns: 100,
    window: 16,
    size: 1024,
    metric: 'msgs_per_s',
    unit: 'msgs/s',
  },
  {
    id: '64k',
    name: 'echo 64 KiB',
    conns: 100,
    window: 16,
    size: 65536,
    metric: 'MiB_per_s',
    unit: 'MiB/s',
  },
  {
    id: '1m',
    name: 'echo 1 MiB',
    conns: 1,
    window: 4,
    size: 1048576,
    metric: 'MiB_per_s',
    unit: 'MiB/s',
  },
];

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** wsload: given, next to the repository, on PATH, or built from its source into .tmp/. */
function findWsload() {
  const given = opt.wsload ?? process.env.WSLOAD;
  if (given) {
    if (!isExecutable(given)) throw new Error(`wsload not found or not executable: ${given}`);
    return path.resolve(given);
  }
  const shared = path.resolve(ROOT, '..', 'shared', 'tools', 'wsload');
  const candidates = [path.join(shared, 'wsload'), path.join(ROOT, '.tmp', 'wsload')];
  for (const file of candidates) if (isExecutable(file)) return file;
  const onPath = sh('bash', ['-c', 'command -v wsload']);
  if (onPath) return onPath;
  const source = path.join(shared, 'wsload.c');
  if (existsSync(source)) {
    const out = path.join(ROOT, '.tmp', 'wsload');
    mkdirSync(path.dirname(out), { recursive: true });
    for (const cc of ['gcc', 'cc', 'clang']) {
      if (sh(cc, ['-O2', '-Wall', '-Wextra', '-std=gnu11', '-o', out, source]) !== undefined) {
        if (sh(out, ['--selftest'])?.includes('ok')) {
          note(`wsload built from ${path.relative(ROOT, source)} into .tmp/wsload`);
          return out;
        }
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- servers and generators

let PIN;
let SERVER_FD_LIMIT;
let WSLOAD;

const pin = (cpu) => (PIN.ok ? ['taskset', '-c', String(cpu)] : []);
const url = () => `ws://${HOST}:${PORT}/`;

async function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, HOST, () => probe.close(() => resolve(true)));
  });
}

async function startServer(key) {
  const spec = SERVERS[key];
  const command = [
    ...pin(1),
    process.execPath,
    '--expose-gc',
    spec.file,
    ...(spec.args ?? []),
    '--port',
    String(PORT),
    '--exit-with-stdin',
  ];
  // The shell raises the open-file limit for the server (10,000 idle connections and more).
  const proc = new Proc(
    `${spec.label} server`,
    'bash',
    ['-c', 'ulimit -n "$0" && exec "$@"', String(SERVER_FD_LIMIT), ...command],
    { env: spec.env, stdin: 'pipe' },
  );
  try {
    const line = await proc.waitLine((l) => /^READY \d+$/.test(l), READY_TIMEOUT_MS, 'READY line');
    if (Number(line.split(' ')[1]) !== PORT) throw proc.failure(`listens on ${line}, want ${PORT}`);
  } catch (error) {
    await proc.stop(1000);
    throw error;
  }
  proc.key = key;
  return proc;
}

async function memoryReport(server) {
  server.signal('SIGUSR2');
  const line = await server.waitLine((l) => l.startsWith('{'), 10_000, 'memory report (SIGUSR2)');
  return JSON.parse(line);
}

function checkServer(server) {
  if (server.exit !== undefined) throw server.failure(`died (${server.exitText()})`);
}

/**
 * Runs one generator to completion and returns its JSON result, with the server's CPU use over
 * the measured window (sampled from `warmup` s after the start to the end).
 */
async function runGenerator(name, command, args, { env, server, timeoutMs, warmup }) {
  const gen = new Proc(name, command, args, { env });
  const t0 = Date.now();
  let cpuA;
  const sampler = setTimeout(
    () => {
      cpuA = { at: Date.now(), cpu: server.cpuSeconds() };
    },
    warmup * 1000 + 200,
  );
  const killer = setTimeout(() => gen.signal('SIGKILL'), timeoutMs);
  const exit = await gen.exited;
  const cpuB = { at: Date.now(), cpu: server.cpuSeconds() };
  clearTimeout(sampler);
  clearTimeout(killer);
  const line = gen.lines.filter((l) => l.startsWith('{') && !l.includes('"event"')).pop();
  let result;
  try {
    result = JSON.parse(line);
  } catch {
    throw gen.failure(
      `gave no result (${gen.exitText()}, after ${Math.round((Date.now() - t0) / 1000)} s)`,
    );
  }
  if (exit.code !== 0 || result.errors > 0) {
    throw gen.failure(`failed (${gen.exitText()}, ${result.errors} errors): ${line}`);
  }
  checkServer(server);
  result.server_cpu_pct =
    cpuA?.cpu !== undefined && cpuB.cpu !== undefined && cpuB.at > cpuA.at
      ? Math.round((1e6 * (cpuB.cpu - cpuA.cpu)) / (cpuB.at - cpuA.at)) / 10
      : null;
  return result;
}

const timeout = () => (WARMUP + DURATION) * 1000 + 90_000;

function pinned(cpu, command, args) {
  const p = pin(cpu);
  return p.length > 0 ? [p[0], [...p.slice(1), command, ...args]] : [command, args];
}

function wsloadRun(server, args) {
  const [command, full] = pinned(0, WSLOAD, [...args.map(String), url()]);
  return runGenerator('wsload', command, full, { server, timeoutMs: timeout(), warmup: WARMUP });
}

function nodeBench(server, client, { conns, window, size }) {
  const script = client === 'tsws' ? ['dist/cli/main.js', 'bench'] : ['bench/clients/ws-bench.mjs'];
  const args = [
    ...script,
    url(),
    '--json',
    '--quiet',
    '--connections',
    conns,
    '--window',
    window,
    '--size',
    size,
    '--duration',
    DURATION,
    '--warmup',
    WARMUP,
  ].map(String);
  const env =
    client === 'ws'
      ? { WS_NO_BUFFER_UTIL: '1' }
      : client === 'ws-bufferutil'
        ? { WS_NO_BUFFER_UTIL: undefined }
        : {};
  const [command, full] = pinned(0, process.execPath, args);
  const name = client === 'tsws' ? 'tsws bench' : `ws-bench (${SERVERS[client].label})`;
  return runGenerator(name, command, full, { env, server, timeoutMs: timeout(), warmup: WARMUP });
}

// ---------------------------------------------------------------- figures

/** rows: id -> { figure, unit, better, generator, cells: { column: cell } } */
const rows = new Map();

function row(key, figure, unit, better, generator) {
  if (!rows.has(key)) rows.set(key, { key, figure, unit, better, generator, cells: {} });
  return rows.get(key);
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function cell(results, pick) {
  const values = results.map(pick);
  const m = median(values);
  const spread = m ? ((Math.max(...values) - Math.min(...values)) / 2 / m) * 100 : 0;
  return {
    median: m,
    runs: values,
    spread_pct: Math.round(spread * 10) / 10,
    client_cpu_pct: median(results.map((r) => r.client_cpu_pct)),
    server_cpu_pct: median(results.map((r) => r.server_cpu_pct ?? Number.NaN)),
  };
}

/** Runs `measure` RUNS times; records the cells given by `record(results)`. */
async function measured(label, measure, record, show) {
  const results = [];
  try {
    for (let run = 1; run <= RUNS; run++) {
      const result = await measure();
      results.push(result);
      log(`${label} run ${run}/${RUNS}: ${show(result)}`);
      await sleep(300);
    }
    record(results);
  } catch (error) {
    if (!KEEP_GOING) throw error;
    log(`${label}: FAILED (--keep-going):\n${error.message}`);
    record(null, error);
  }
}

const fmt = (n, digits = 0) =>
  n === null || n === undefined || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const cpuText = (r) =>
  `gen CPU ${fmt(r.client_cpu_pct)}%, server CPU ${r.server_cpu_pct === null ? '?' : `${fmt(r.server_cpu_pct)}%`}`;

function setCell(rowObject, column, results, pick, error) {
  rowObject.cells[column] = error ? { error: error.message.split('\n')[0] } : cell(results, pick);
  if (results) rowObject.cells[column].results = results;
}

async function throughputFigures(server) {
  const key = server.key;
  for (const t of THROUGHPUT) {
    if (!ONLY.has(t.id)) continue;
    const figure = `${t.name}, ${t.conns} conn${t.conns > 1 ? 's' : ''} × ${t.window} in flight`;
    const load = { conns: t.conns, window: t.window, size: t.size };
    if (WSLOAD) {
      const r = row(`${t.id}/wsload`, figure, t.unit, 'higher', 'wsload');
      const args = [
        '--conns',
        t.conns,
        '--window',
        t.window,
        '--size',
        t.size,
        '--duration',
        DURATION,
        '--warmup',
        WARMUP,
      ];
      if (SERVERS[key].raw) args.push('--raw-echo');
      await measured(
        `${SERVERS[key].label}: ${t.name} (wsload)`,
        () => wsloadRun(server, args),
        (results, error) => setCell(r, key, results, (x) => x[t.metric], error),
        (x) => `${fmt(x[t.metric], t.unit === 'MiB/s' ? 1 : 0)} ${t.unit}, ${cpuText(x)}`,
      );
    }
    if (GENERATORS.has('tsws') && !SERVERS[key].raw) {
      const r = row(`${t.id}/tsws`, figure, t.unit, 'higher', 'tsws bench');
      await measured(
        `${SERVERS[key].label}: ${t.name} (tsws bench)`,
        () => nodeBench(server, 'tsws', load),
        (results, error) => setCell(r, key, results, (x) => x[t.metric], error),
        (x) => `${fmt(x[t.metric], t.unit === 'MiB/s' ? 1 : 0)} ${t.unit}, ${cpuText(x)}`,
      );
    }
  }
}

async function latencyFigure(server) {
  const key = server.key;
  const figure = 'round trip 16 B, 1 conn × 1 in flight';
  const p50 = row('lat/p50', `${figure}, p50`, 'µs', 'lower', 'wsload --busy-poll');
  const p99 = row('lat/p99', `${figure}, p99`, 'µs', 'lower', 'wsload --busy-poll');
  const args = [
    '--conns',
    1,
    '--window',
    1,
    '--size',
    16,
    '--busy-poll',
    '--duration',
    DURATION,
    '--warmup',
    WARMUP,
  ];
  if (SERVERS[key].raw) args.push('--raw-echo');
  await measured(
    `${SERVERS[key].label}: latency (wsload --busy-poll)`,
    () => wsloadRun(server, args),
    (results, error) => {
      setCell(p50, key, results, (x) => x.lat_p50_us, error);
      setCell(p99, key, results, (x) => x.lat_p99_us, error);
    },
    (x) =>
      `p50 ${fmt(x.lat_p50_us, 1)} µs, p99 ${fmt(x.lat_p99_us, 1)} µs, ${x.msgs_per_s.toFixed(0)} msgs/s`,
  );
}

async function handshakeFigure(server) {
  const key = server.key;
  const raw = SERVERS[key].raw;
  const r = row(
    'hs',
    `handshakes, ${HS_CONNS} in flight (ceiling: --rst)`,
    'handshakes/s',
    'higher',
    'wsload',
  );
  const args = [
    '--handshake-rate',
    '--conns',
    HS_CONNS,
    '--duration',
    DURATION,
    '--warmup',
    WARMUP,
  ];
  if (raw) args.push('--rst');
  await measured(
    `${SERVERS[key].label}: handshakes (wsload${raw ? ' --rst' : ''})`,
    () => wsloadRun(server, args),
    (results, error) => setCell(r, key, results, (x) => x.handshakes_per_s, error),
    (x) => `${fmt(x.handshakes_per_s)} handshakes/s, ${cpuText(x)}`,
  );
}

/** Waits until the server reports at most `n` connections (after a load closed its own). */
async function waitConnections(server, n, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await memoryReport(server);
    if (m.connections <= n) return m;
    if (Date.now() > deadline) throw server.failure(`still has ${m.connections} connections`);
    await sleep(250);
  }
}

/** Young generation (bytes) at or under which a server counts as settled. */
const YOUNG_IDLE = 4 * 1024 * 1024;

/** Idle memory per connection, on a fresh server: SIGUSR2 before and after MEM_CONNS connections. */
async function memoryRun(key) {
  const server = await startServer(key);
  let holder;
  try {
    // Warm the server's code paths and pools first, so they are not counted per connection.
    const [wc, wargs] = pinned(0, WSLOAD, [
      '--connect-only',
      '--conns',
      '200',
      '--duration',
      '0.3',
      url(),
    ]);
    const warm = new Proc('wsload (warm-up)', wc, wargs);
    const wexit = await warm.exited;
    if (wexit.code !== 0) throw warm.failure(`failed (${warm.exitText()})`);
    await waitConnections(server, 0, 10_000);
    await sleep(500);
    const before = await memoryReport(server);
    const [command, args] = pinned(0, WSLOAD, [
      '--connect-only',
      '--conns',
      String(MEM_CONNS),
      '--duration',
      '600',
      url(),
    ]);
    holder = new Proc('wsload --connect-only', command, args);
    const readyLine = await holder.waitLine(
      (l) => l.includes('"event":"ready"'),
      120_000,
      'ready line',
    );
    const ready = JSON.parse(readyLine);
    if (ready.open !== MEM_CONNS || ready.errors > 0) {
      throw holder.failure(
        `opened ${ready.open} of ${MEM_CONNS} connections, ${ready.errors} errors`,
      );
    }
    // Idle means idle: let the server settle (V8 returns the pages the handshake burst grew)
    // before measuring, the same for every server. 5 s was too short: measured on this
    // machine (server and generator pinned), RSS per connection was still at its burst level
    // (~3.8 KB for tsws) 8 s after the connections opened, and at its idle level (~1.1 KB)
    // from 13 s on (sometimes later), so a 5 s settle gave one or the other by chance.
    await sleep(MEM_SETTLE_MS);
    let after = await memoryReport(server);
    // The young generation grows under the handshake burst (to ~27 MB here) and V8 shrinks it
    // once the process is idle, at a moment of its choosing (8 to 30 s later, measured): until
    // then RSS counts ~2.7 KB per connection that is no connection's. Wait for it (30 s at
    // most), the same for every server (the report's `young`: bench/servers/common.mjs).
    for (let waited = 0; after.young > YOUNG_IDLE && waited < 30_000; waited += 2000) {
      await sleep(2000);
      after = await memoryReport(server);
    }
    checkServer(server);
    if (after.connections < MEM_CONNS) {
      throw server.failure(`reports ${after.connections} connections, want ${MEM_CONNS}`);
    }
    const per = (field) => (after[field] - before[field]) / MEM_CONNS;
    return {
      conns: MEM_CONNS,
      open_time_s: ready.open_time_s,
      before,
      after,
      rss_per_conn: per('rss'),
      heap_per_conn: per('heapUsed'),
      external_per_conn: per('external'),
      arrayBuffers_per_conn: per('arrayBuffers'),
    };
  } finally {
    await holder?.stop(2000);
    await server.stop();
  }
}

async function memoryFigure(key) {
  const figure = `idle memory per connection at ${fmt(MEM_CONNS)} conns`;
  const rss = row('mem/rss', `${figure}, RSS`, 'bytes', 'lower', 'wsload --connect-only');
  const heap = row(
    'mem/heap',
    `${figure}, JS heap used`,
    'bytes',
    'lower',
    'wsload --connect-only',
  );
  await measured(
    `${SERVERS[key].label}: memory at ${fmt(MEM_CONNS)} connections`,
    () => memoryRun(key),
    (results, error) => {
      setCell(rss, key, results, (x) => x.rss_per_conn, error);
      setCell(heap, key, results, (x) => x.heap_per_conn, error);
    },
    (x) =>
      `RSS ${fmt(x.rss_per_conn)} B/conn, heap ${fmt(x.heap_per_conn)} B/conn, external ${fmt(x.external_per_conn)} B/conn (opened in ${x.open_time_s} s)`,
  );
}

/** Client side: the generators themselves compared, against the tsws echo server. */
async function clientFigures() {
  const sizes = [];
  if (ONLY.has('client'))
    sizes.push({ id: 'client', size: 16, metric: 'msgs_per_s', unit: 'msgs/s', name: '16 B' });
  if (ONLY.has('client-64k')) {
    sizes.push({
      id: 'client-64k',
      size: 65536,
      metric: 'MiB_per_s',
      unit: 'MiB/s',
      name: '64 KiB',
    });
  }
  if (sizes.length === 0) return;
  const clients = ['tsws', 'ws'];
  if (BUFFERUTIL.native) clients.push('ws-bufferutil');
  let server = await startServer('tsws');
  try {
    for (const s of sizes) {
      const r = row(
        `${s.id}/client`,
        `client side: echo ${s.name}, 100 conns × 16 in flight, tsws server`,
        s.unit,
        'higher',
        'tsws bench / ws-bench',
      );
      for (const client of clients) {
        if (server.exit !== undefined) server = await startServer('tsws');
        await measured(
          `client ${SERVERS[client].label}: echo ${s.name}`,
          () => nodeBench(server, client, { conns: 100, window: 16, size: s.size }),
          (results, error) => setCell(r, client, results, (x) => x[s.metric], error),
          (x) => `${fmt(x[s.metric], s.unit === 'MiB/s' ? 1 : 0)} ${s.unit}, ${cpuText(x)}`,
        );
      }
    }
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- report

function cellText(c, unit) {
  if (c === undefined) return '—';
  if (c.error) return 'error';
  const digits = unit === 'MiB/s' || unit === 'µs' ? 1 : 0;
  const spread = RUNS > 1 && c.spread_pct >= 0.5 ? ` ±${fmt(c.spread_pct)}%` : '';
  return `${fmt(c.median, digits)}${spread}`;
}

function ratio(a, b) {
  if (a?.median == null || b?.median == null || b.median === 0) return '—';
  return `${(a.median / b.median).toFixed(2)}×`;
}

function markdown(machine) {
  const head = COLUMNS.filter((k) => [...rows.values()].some((r) => r.cells[k] !== undefined));
  const out = [];
  out.push('## Machine', '');
  out.push('| | |', '|---|---|');
  for (const [k, v] of Object.entries(machine.table)) out.push(`| ${k} | ${v} |`);
  out.push('', '## Figures', '');
  out.push(
    `Median of ${RUNS} run${RUNS > 1 ? 's' : ''}` +
      (RUNS > 1
        ? ', ± half the spread of the runs as a percentage of the median (shown from 0.5%)'
        : '') +
      '. Columns are the library under test: the server, or for the client-side rows the client. — : not measured.',
    '',
  );
  out.push(`| figure | unit | generator | ${head.map((k) => SERVERS[k].label).join(' | ')} |`);
  out.push(`|---|---|---|${head.map(() => '--:|').join('')}`);
  for (const r of rows.values()) {
    out.push(
      `| ${r.figure} | ${r.unit} | ${r.generator} | ${head.map((k) => cellText(r.cells[k], r.unit)).join(' | ')} |`,
    );
  }
  out.push('', '## Ratios', '');
  out.push(
    'tsws divided by the other, from the same run. For the rows where lower is better ' +
      '(latency, memory), a ratio under 1 favours tsws; elsewhere a ratio over 1 does.',
    '',
  );
  out.push(
    '| figure | better | generator | tsws/ws | tsws/ws+bufferutil | tsws/ceiling (net) | tsws/ceiling (libuv) |',
  );
  out.push('|---|---|---|--:|--:|--:|--:|');
  for (const r of rows.values()) {
    const t = r.cells.tsws;
    out.push(
      `| ${r.figure} | ${r.better} | ${r.generator} | ${ratio(t, r.cells.ws)} | ${ratio(t, r.cells['ws-bufferutil'])} | ${ratio(t, r.cells.tcp)} | ${ratio(t, r.cells.uv)} |`,
    );
  }
  // The other server modes, each against ws and the ceilings.
  const modes = head.filter((k) => k.startsWith('tsws-'));
  if (modes.length > 0) {
    out.push('', '### Server modes', '');
    out.push('| figure | mode | better | /ws | /ceiling (net) | /ceiling (libuv) |');
    out.push('|---|---|---|--:|--:|--:|');
    for (const r of rows.values()) {
      for (const k of modes) {
        const m = r.cells[k];
        out.push(
          `| ${r.figure} | ${SERVERS[k].label} | ${r.better} | ${ratio(m, r.cells.ws)} | ${ratio(m, r.cells.tcp)} | ${ratio(m, r.cells.uv)} |`,
        );
      }
    }
  }
  const cpuRows = [...rows.values()].filter((r) => !r.key.startsWith('mem'));
  if (cpuRows.length > 0) {
    out.push('', '## CPU use', '');
    out.push(
      'Median CPU use during the measured window, in % of one core: generator / server. A generator ' +
        "near 100% means the figure may be the generator's limit, not the server's (see docs/benchmarks.md).",
      '',
    );
    out.push(`| figure | generator | ${head.map((k) => SERVERS[k].label).join(' | ')} |`);
    out.push(`|---|---|${head.map(() => '--:|').join('')}`);
    for (const r of cpuRows) {
      const cells = head.map((k) => {
        const c = r.cells[k];
        if (c === undefined || c.error) return '—';
        return `${fmt(c.client_cpu_pct)} / ${c.server_cpu_pct === null ? '?' : fmt(c.server_cpu_pct)}`;
      });
      out.push(`| ${r.figure} | ${r.generator} | ${cells.join(' | ')} |`);
    }
  }
  if (notes.length > 0) {
    out.push('', '## Notes', '');
    for (const n of notes) out.push(`- ${n}`);
  }
  return `${out.join('\n')}\n`;
}

// ---------------------------------------------------------------- main

let BUFFERUTIL;

async function main() {
  if (
    !existsSync(path.join(ROOT, 'dist', 'index.js')) ||
    !existsSync(path.join(ROOT, 'dist', 'cli', 'bench.js'))
  ) {
    throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  }
  if (packageVersion('ws') === undefined) throw new Error('ws is not installed: run `npm ci`');
  BUFFERUTIL = bufferutilState();
  let serverKeys = SERVER_KEYS;
  if (serverKeys.includes('ws-bufferutil') && !BUFFERUTIL.native) {
    note(
      'bufferutil is not installed (or not native): the ws+bufferutil server is skipped (`npm ci` installs it)',
    );
    serverKeys = serverKeys.filter((k) => k !== 'ws-bufferutil');
  }

  PIN = pinning();
  if (PIN.ok) log('pinning: servers on CPU 1, generators on CPU 0 (taskset)');
  else
    note(`no CPU pinning (${PIN.why}): server and generator share the CPUs, figures are noisier`);

  const hard = hardFdLimit();
  SERVER_FD_LIMIT = Math.min(65536, hard);
  if (ONLY.has('mem') && MEM_CONNS + 100 > SERVER_FD_LIMIT) {
    const n = Math.max(100, SERVER_FD_LIMIT - 100);
    note(
      `the hard open-file limit is ${hard}: the memory figure uses ${n} connections, not ${MEM_CONNS}`,
    );
    MEM_CONNS = n;
  }

  const wanted = GENERATORS.has('wsload');
  WSLOAD = wanted ? findWsload() : undefined;
  if (wanted && WSLOAD === undefined) {
    note('wsload not found (and could not be built): only the `tsws bench` figures are measured');
  } else if (WSLOAD) {
    log(`wsload: ${WSLOAD}`);
  }
  if (!GENERATORS.has('tsws') && !WSLOAD) throw new Error('no generator left to run');

  if (!(await portIsFree(PORT))) throw new Error(`port ${PORT} on ${HOST} is in use: pass --port`);

  const machine = {
    cpu: cpuModel(),
    cores: os.availableParallelism(),
    node: process.version,
    ws: packageVersion('ws'),
    bufferutil: BUFFERUTIL,
    tsws:
      packageVersion('tsws') ??
      JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version,
    commit: sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']),
    kernel: `${os.type()} ${os.release()}`,
    date: new Date().toISOString(),
    pinning: PIN.ok,
  };
  machine.table = {
    CPU: `${machine.cpu}, ${machine.cores} cores`,
    'Node.js': machine.node,
    ws: `${machine.ws}${BUFFERUTIL.version ? ` (bufferutil ${BUFFERUTIL.version}${BUFFERUTIL.native ? ', native' : ', not native'})` : ''}`,
    tsws: `${machine.tsws}${machine.commit ? ` (${machine.commit})` : ''}`,
    kernel: machine.kernel,
    date: machine.date,
    pinning: PIN.ok ? 'server on CPU 1, generator on CPU 0 (taskset)' : `none (${PIN.why})`,
    method: `median of ${RUNS} run${RUNS > 1 ? 's' : ''}, ${DURATION} s measured after ${WARMUP} s of warm-up; 127.0.0.1`,
  };

  const perRun = WARMUP + DURATION + 1;
  const tp = THROUGHPUT.filter((t) => ONLY.has(t.id)).length;
  let estimate = 0;
  for (const key of serverKeys) {
    const gens = (WSLOAD ? 1 : 0) + (GENERATORS.has('tsws') && !SERVERS[key].raw ? 1 : 0);
    estimate += RUNS * perRun * tp * gens;
    if (WSLOAD && ONLY.has('lat')) estimate += RUNS * perRun;
    if (WSLOAD && ONLY.has('hs')) estimate += RUNS * perRun;
    if (WSLOAD && ONLY.has('mem')) estimate += RUNS * 8;
  }
  const clientSizes = (ONLY.has('client') ? 1 : 0) + (ONLY.has('client-64k') ? 1 : 0);
  if (GENERATORS.has('tsws')) estimate += clientSizes * RUNS * perRun * (BUFFERUTIL.native ? 3 : 2);
  log(
    `servers: ${serverKeys.map((k) => SERVERS[k].label).join(', ')}; figures: ${[...ONLY].join(', ')}`,
  );
  log(`about ${Math.ceil(estimate / 60)} min (${RUNS} runs × ${perRun} s per figure)`);

  for (const key of serverKeys) {
    const needsServer =
      THROUGHPUT.some((t) => ONLY.has(t.id)) || (WSLOAD && (ONLY.has('lat') || ONLY.has('hs')));
    if (needsServer) {
      let server = await startServer(key);
      log(`${SERVERS[key].label} server ready (pid ${server.pid})`);
      const fresh = async () => {
        if (server.exit !== undefined) server = await startServer(key);
        return server;
      };
      try {
        await throughputFigures(await fresh());
        if (WSLOAD && ONLY.has('lat')) await latencyFigure(await fresh());
        if (WSLOAD && ONLY.has('hs')) await handshakeFigure(await fresh());
      } finally {
        await server.stop();
      }
    }
    if (WSLOAD && ONLY.has('mem')) await memoryFigure(key);
  }
  if (GENERATORS.has('tsws')) await clientFigures();
  else if (ONLY.has('client') || ONLY.has('client-64k'))
    note('client-side figures need --generators tsws');

  const md = markdown(machine);
  const title =
    '# tsws benchmarks: latest results\n\nWritten by `npm run bench` (bench/compare.mjs); docs/benchmarks.md explains every figure.\n\n';
  mkdirSync(OUT_DIR, { recursive: true });
  writeFileSync(path.join(OUT_DIR, 'latest.md'), title + md);
  const json = {
    machine,
    settings: {
      runs: RUNS,
      duration_s: DURATION,
      warmup_s: WARMUP,
      figures: [...ONLY],
      servers: serverKeys,
      generators: [...GENERATORS],
      port: PORT,
      mem_conns: MEM_CONNS,
      hs_conns: HS_CONNS,
      wsload: WSLOAD ?? null,
    },
    notes,
    rows: [...rows.values()],
  };
  const jsonFile = path.join(OUT_DIR, 'latest.json');
  writeFileSync(jsonFile, `${JSON.stringify(json, null, 2)}\n`);
  // Formatted as the repository's linter wants it, so that a committed result passes `npm run lint`.
  const biome = path.join(ROOT, 'node_modules', '.bin', 'biome');
  if (existsSync(biome)) sh(biome, ['format', '--write', jsonFile]);
  process.stdout.write(`\n${md}`);
  log(`written: ${path.relative(process.cwd(), path.join(OUT_DIR, 'latest.md'))} and latest.json`);
  const failures = [...rows.values()]
    .flatMap((r) => Object.values(r.cells))
    .filter((c) => c.error).length;
  if (failures > 0) {
    log(`${failures} measurement(s) failed (see "error" cells)`);
    return 1;
  }
  return 0;
}

main().then(
  (status) => {
    killAll();
    process.exit(status);
  },
  (error) => {
    process.stderr.write(`\ncompare: FAILED: ${error.message}\n`);
    killAll();
    process.exit(1);
  },
);
