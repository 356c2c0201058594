#!/usr/bin/env node
// The compression benchmarks: tsws against ws with permessage-deflate on, in the same run on
// the same machine, with the same settings (docs/benchmarks.md, "Compression").
//
//   npm run build && node bench/deflate.mjs [--runs 3] [--duration 10] [--only tp,mem,client-mem]
//
// - tp: echo throughput of JSON messages (1 KiB, 16 KiB, 256 KiB; and 1 KiB without context
//   takeover), from bench/clients/deflate-load.mjs, a generator that sends precompressed frames
//   (wsload, the neutral generator, does not speak permessage-deflate). The server is pinned to
//   CPU 1, the generator to CPU 0.
// - mem: server memory per connection for each setting, at --mem-conns connections that each
//   exchanged one compressed 4 KiB message (deflate-load.mjs --hold), after a warm-up.
// - client-mem: client memory per connection, tsws's and ws's clients with compression on and off
//   (bench/clients/deflate-client-mem.mjs), against a tsws server.
// It prints Markdown and writes bench/results/deflate.md and deflate.json.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import {
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

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    'mem-runs': { type: 'string', default: '1' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    only: { type: 'string', default: 'tp,mem,client-mem' },
    servers: { type: 'string', default: 'tsws,ws' },
    port: { type: 'string', default: '9340' },
    'mem-conns': { type: 'string', default: '2000' },
    'mem-settle': { type: 'string', default: '3000' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (opt.help) {
  process.stdout.write(
    'Usage: node bench/deflate.mjs [--runs 3] [--mem-runs 1] [--duration 10] [--warmup 2]\n' +
      '  [--only tp,mem,client-mem] [--servers tsws,ws] [--port 9340] [--mem-conns 2000]\n' +
      '  [--mem-settle 3000] [--out bench/results]\n',
  );
  process.exit(0);
}
const RUNS = Number(opt.runs);
const MEM_RUNS = Number(opt['mem-runs']);
const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);
const PORT = Number(opt.port);
const MEM_CONNS = Number(opt['mem-conns']);
const MEM_SETTLE = Number(opt['mem-settle']);
const ONLY = new Set(opt.only.split(','));
const SERVER_KEYS = opt.servers.split(',');
const URL_ = `ws://127.0.0.1:${PORT}/`;

const SERVERS = {
  tsws: { label: 'tsws', file: 'bench/servers/tsws-echo.mjs', env: {} },
  ws: { label: 'ws', file: 'bench/servers/ws-echo.mjs', env: { WS_NO_BUFFER_UTIL: '1' } },
};

const THROUGHPUT = [
  { id: '1k', name: 'echo JSON 1 KiB', conns: 100, window: 16, size: 1024, deflate: {} },
  { id: '16k', name: 'echo JSON 16 KiB', conns: 50, window: 4, size: 16384, deflate: {} },
  { id: '256k', name: 'echo JSON 256 KiB', conns: 4, window: 4, size: 262144, deflate: {} },
  {
    id: '1k-nct',
    name: 'echo JSON 1 KiB, no context takeover both ways',
    conns: 100,
    window: 16,
    size: 1024,
    deflate: { serverNoContextTakeover: true, clientNoContextTakeover: true },
  },
];

const MEM_SETTINGS = [
  ['off', 'compression off (the baseline)', false],
  ['default', 'defaults: context takeover both ways, 15-bit windows', {}],
  ['snct', 'server_no_context_takeover', { serverNoContextTakeover: true }],
  ['cnct', 'client_no_context_takeover', { clientNoContextTakeover: true }],
  [
    'nct',
    'no context takeover both ways',
    { serverNoContextTakeover: true, clientNoContextTakeover: true },
  ],
  ['w10', '10-bit windows both ways', { serverMaxWindowBits: 10, clientMaxWindowBits: 10 }],
  [
    'w9m1',
    '9-bit windows both ways, memLevel 1',
    { serverMaxWindowBits: 9, clientMaxWindowBits: 9, memLevel: 1 },
  ],
];

let PIN;
const pin = (cpu, command, args) =>
  PIN.ok ? ['taskset', ['-c', String(cpu), command, ...args]] : [command, args];

async function startServer(key, deflate) {
  const spec = SERVERS[key];
  const args = ['--expose-gc', spec.file, '--port', String(PORT), '--exit-with-stdin'];
  if (deflate !== false) args.push('--deflate', JSON.stringify(deflate));
  const [command, full] = pin(1, process.execPath, args);
  const limit = Math.min(65536, hardFdLimit());
  const proc = new Proc(
    `${spec.label} server`,
    'bash',
    ['-c', 'ulimit -n "$0" && exec "$@"', String(limit), command, ...full],
    { env: spec.env, stdin: 'pipe' },
  );
  await proc.waitLine((l) => /^READY \d+$/.test(l), 10_000, 'READY line');
  return proc;
}

async function memoryReport(server) {
  server.signal('SIGUSR2');
  return JSON.parse(await server.waitLine((l) => l.startsWith('{'), 10_000, 'memory report'));
}

function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

const fmt = (n, digits = 0) =>
  n == null || Number.isNaN(n)
    ? '—'
    : n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

// ---------------------------------------------------------------- throughput

async function throughputRun(server, t) {
  const args = [
    'bench/clients/deflate-load.mjs',
    URL_,
    '--connections',
    t.conns,
    '--window',
    t.window,
    '--size',
    t.size,
    '--duration',
    DURATION,
    '--warmup',
    WARMUP,
  ].map(String);
  const [command, full] = pin(0, process.execPath, args);
  const gen = new Proc('deflate-load', command, full);
  let cpuA;
  const sampler = setTimeout(
    () => {
      cpuA = { at: Date.now(), cpu: server.cpuSeconds() };
    },
    (WARMUP + 1) * 1000,
  );
  const exit = await gen.exited;
  const cpuB = { at: Date.now(), cpu: server.cpuSeconds() };
  clearTimeout(sampler);
  const line = gen.lines.filter((l) => l.startsWith('{')).pop();
  const result = line ? JSON.parse(line) : undefined;
  if (exit.code !== 0 || result === undefined || result.errors > 0) {
    throw gen.failure(`failed (${gen.exitText()}): ${line}`);
  }
  if (server.exit !== undefined) throw server.failure('died');
  result.server_cpu_pct =
    cpuA && cpuB.cpu !== undefined
      ? Math.round((1000 * (cpuB.cpu - cpuA.cpu)) / ((cpuB.at - cpuA.at) / 1000)) / 10
      : null;
  return result;
}

const tp = {};

async function throughputFigures() {
  for (const t of THROUGHPUT) {
    tp[t.id] = { ...t, cells: {} };
    for (const key of SERVER_KEYS) {
      const server = await startServer(key, t.deflate);
      const results = [];
      try {
        for (let run = 1; run <= RUNS; run++) {
          const r = await throughputRun(server, t);
          results.push(r);
          log(
            `${key}: ${t.name} run ${run}/${RUNS}: ${fmt(r.msgs_per_s)} msgs/s, ${fmt(r.MiB_per_s, 1)} MiB/s, ` +
              `wire ${r.ratio_up}/${r.ratio_down}, gen CPU ${r.client_cpu_pct}%, server CPU ${r.server_cpu_pct}%`,
          );
          await sleep(300);
        }
      } finally {
        await server.stop();
      }
      const pick = (k) => median(results.map((r) => r[k]));
      const values = results.map((r) => r.msgs_per_s);
      tp[t.id].cells[key] = {
        msgs_per_s: pick('msgs_per_s'),
        MiB_per_s: pick('MiB_per_s'),
        spread_pct:
          Math.round(
            ((Math.max(...values) - Math.min(...values)) / 2 / pick('msgs_per_s')) * 1000,
          ) / 10,
        lat_p50_us: pick('lat_p50_us'),
        lat_p99_us: pick('lat_p99_us'),
        ratio_down: pick('ratio_down'),
        client_cpu_pct: pick('client_cpu_pct'),
        server_cpu_pct: pick('server_cpu_pct'),
        extensions: results[0]?.extensions,
        results,
      };
    }
  }
}

// ---------------------------------------------------------------- memory

async function hold(conns, deflate) {
  const args = [
    'bench/clients/deflate-load.mjs',
    URL_,
    '--hold',
    '--connections',
    String(conns),
    '--size',
    '4096',
  ];
  if (deflate === false) args.push('--offer', 'none');
  const [command, full] = pin(0, process.execPath, args);
  const holder = new Proc('deflate-load --hold', command, full, { stdin: 'pipe' });
  const ready = JSON.parse(
    await holder.waitLine((l) => l.includes('"event":"ready"'), 120_000, 'ready line'),
  );
  if (ready.open !== conns || ready.errors > 0) {
    await holder.stop(1000);
    throw holder.failure(`opened ${ready.open} of ${conns}: ${ready.first_error ?? ''}`);
  }
  return { holder, ready };
}

async function memoryRun(key, deflate) {
  const server = await startServer(key, deflate);
  let holder;
  try {
    const warm = await hold(200, deflate);
    await warm.holder.stop(1000);
    for (let i = 0; i < 40; i++) {
      if ((await memoryReport(server)).connections === 0) break;
      await sleep(250);
    }
    await sleep(500);
    const before = await memoryReport(server);
    const held = await hold(MEM_CONNS, deflate);
    holder = held.holder;
    await sleep(MEM_SETTLE);
    const after = await memoryReport(server);
    if (after.connections < MEM_CONNS) throw server.failure(`${after.connections} connections`);
    const per = (k) => Math.round((after[k] - before[k]) / MEM_CONNS);
    return {
      extensions: held.ready.extensions ?? '',
      rss_per_conn: per('rss'),
      heap_per_conn: per('heapUsed'),
      external_per_conn: per('external'),
      before,
      after,
    };
  } finally {
    await holder?.stop(1000);
    await server.stop();
  }
}

const mem = {};

async function memoryFigures() {
  for (const [id, name, deflate] of MEM_SETTINGS) {
    mem[id] = { name, deflate, cells: {} };
    for (const key of SERVER_KEYS) {
      const results = [];
      for (let run = 1; run <= MEM_RUNS; run++) {
        const r = await memoryRun(key, deflate);
        results.push(r);
        log(
          `${key}: memory, ${name}: RSS ${fmt(r.rss_per_conn)} B/conn, heap ${fmt(r.heap_per_conn)} B/conn, external ${fmt(r.external_per_conn)} B/conn (${r.extensions || 'no extension'})`,
        );
      }
      mem[id].cells[key] = {
        rss_per_conn: median(results.map((r) => r.rss_per_conn)),
        heap_per_conn: median(results.map((r) => r.heap_per_conn)),
        external_per_conn: median(results.map((r) => r.external_per_conn)),
        extensions: results[0].extensions,
        results,
      };
    }
  }
}

const clientMem = {};

async function clientMemoryFigures() {
  const server = await startServer('tsws', {});
  try {
    for (const client of ['tsws', 'ws']) {
      for (const deflate of ['off', 'on']) {
        const args = [
          '--expose-gc',
          'bench/clients/deflate-client-mem.mjs',
          URL_,
          '--client',
          client,
          '--deflate',
          deflate,
          '--connections',
          String(MEM_CONNS),
        ];
        const [command, full] = pin(0, process.execPath, args);
        const proc = new Proc(`${client} client memory`, command, full, {
          env: client === 'ws' ? { WS_NO_BUFFER_UTIL: '1' } : {},
        });
        const exit = await proc.exited;
        const line = proc.lines.find((l) => l.startsWith('{'));
        if (exit.code !== 0 || line === undefined)
          throw proc.failure(`failed (${proc.exitText()})`);
        const r = JSON.parse(line);
        clientMem[`${client}/${deflate}`] = r;
        log(
          `${client} client, compression ${deflate}: RSS ${fmt(r.rss_per_conn)} B/conn, heap ${fmt(r.heap_per_conn)} B/conn (${r.extensions || 'no extension'})`,
        );
      }
    }
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------- report

const ratio = (a, b) => (a == null || b == null || b === 0 ? '—' : `${(a / b).toFixed(2)}×`);

function markdown(machine) {
  const out = ['## Machine', '', '| | |', '|---|---|'];
  for (const [k, v] of Object.entries(machine)) out.push(`| ${k} | ${v} |`);
  if (Object.keys(tp).length > 0) {
    out.push('', '## Throughput with compression', '');
    out.push(
      `Median of ${RUNS} runs (± half the spread of msgs/s). Generator: deflate-load (precompressed JSON, ` +
        'the same for both servers); MiB/s counts uncompressed payload, one direction. "wire" is the ' +
        "server's compressed output over the payload.",
      '',
      '| figure | load | tsws msgs/s | ws msgs/s | tsws/ws | tsws MiB/s | ws MiB/s | wire tsws / ws | CPU gen/server tsws | CPU gen/server ws |',
      '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
    );
    for (const t of Object.values(tp)) {
      const a = t.cells.tsws;
      const b = t.cells.ws;
      const cell = (c) =>
        c ? `${fmt(c.msgs_per_s)}${c.spread_pct >= 0.5 ? ` ±${c.spread_pct}%` : ''}` : '—';
      out.push(
        `| ${t.name} | ${t.conns} × ${t.window} in flight | ${cell(a)} | ${cell(b)} | ${ratio(a?.msgs_per_s, b?.msgs_per_s)} | ${fmt(a?.MiB_per_s, 1)} | ${fmt(b?.MiB_per_s, 1)} | ${a?.ratio_down ?? '—'} / ${b?.ratio_down ?? '—'} | ${fmt(a?.client_cpu_pct)} / ${fmt(a?.server_cpu_pct)} | ${fmt(b?.client_cpu_pct)} / ${fmt(b?.server_cpu_pct)} |`,
      );
    }
  }
  if (Object.keys(mem).length > 0) {
    out.push('', '## Server memory per connection, by setting', '');
    out.push(
      `${fmt(MEM_CONNS)} connections that each exchanged one compressed 4 KiB JSON message, ` +
        `measured ${MEM_SETTLE / 1000} s after the last opened, after two forced garbage collections; ` +
        '(after − before) / connections, before = after a warm-up of 200 connections. Bytes.',
      '',
      '| setting | agreed (tsws) | tsws RSS | tsws heap | ws RSS | ws heap | RSS tsws/ws |',
      '|---|---|--:|--:|--:|--:|--:|',
    );
    for (const m of Object.values(mem)) {
      const a = m.cells.tsws;
      const b = m.cells.ws;
      out.push(
        `| ${m.name} | ${a?.extensions || '—'} | ${fmt(a?.rss_per_conn)} | ${fmt(a?.heap_per_conn)} | ${fmt(b?.rss_per_conn)} | ${fmt(b?.heap_per_conn)} | ${ratio(a?.rss_per_conn, b?.rss_per_conn)} |`,
      );
    }
  }
  if (Object.keys(clientMem).length > 0) {
    out.push('', '## Client memory per connection', '');
    out.push(
      `${fmt(MEM_CONNS)} clients in one process, each exchanged one 4 KiB JSON message with a tsws ` +
        'server (compression on, defaults). Bytes.',
      '',
      '| client | compression | agreed | RSS | heap |',
      '|---|---|---|--:|--:|',
    );
    for (const [k, r] of Object.entries(clientMem)) {
      const [client, deflate] = k.split('/');
      out.push(
        `| ${client} | ${deflate === 'on' ? 'on (default offer)' : 'off'} | ${r.extensions || '—'} | ${fmt(r.rss_per_conn)} | ${fmt(r.heap_per_conn)} |`,
      );
    }
  }
  if (notes.length > 0) out.push('', '## Notes', '', ...notes.map((n) => `- ${n}`));
  return `${out.join('\n')}\n`;
}

async function main() {
  if (!existsSync(path.join(ROOT, 'dist', 'index.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first');
  }
  PIN = pinning();
  if (!PIN.ok) note(`no CPU pinning (${PIN.why})`);
  const load = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  const machine = {
    CPU: `${cpuModel()}, ${os.availableParallelism()} cores`,
    'Node.js': process.version,
    ws: packageVersion('ws'),
    tsws: `${JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version} (${sh('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']) ?? '?'})`,
    date: new Date().toISOString(),
    'load average at start': load,
    pinning: PIN.ok ? 'server on CPU 1, generator on CPU 0 (taskset)' : 'none',
    method: `throughput: median of ${RUNS} runs, ${DURATION} s measured after ${WARMUP} s; memory: ${MEM_RUNS} run(s) per setting`,
  };
  log(`load average: ${load}`);
  if (ONLY.has('tp')) await throughputFigures();
  if (ONLY.has('mem')) await memoryFigures();
  if (ONLY.has('client-mem')) await clientMemoryFigures();
  machine['load average at end'] = os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(', ');
  const md = markdown(machine);
  mkdirSync(opt.out, { recursive: true });
  writeFileSync(
    path.join(opt.out, 'deflate.md'),
    `# tsws compression benchmarks: latest results\n\nWritten by \`node bench/deflate.mjs\`; docs/benchmarks.md explains the figures.\n\n${md}`,
  );
  const jsonFile = path.join(opt.out, 'deflate.json');
  writeFileSync(jsonFile, `${JSON.stringify({ machine, notes, tp, mem, clientMem }, null, 2)}\n`);
  // Formatted as the repository's linter wants them, so that committed results pass `npm run lint`.
  const biome = path.join(ROOT, 'node_modules', '.bin', 'biome');
  if (existsSync(biome))
    sh(biome, ['format', '--write', jsonFile, path.join(opt.out, 'deflate.md')]);
  process.stdout.write(`\n${md}`);
}

main().then(
  () => {
    killAll();
    process.exit(0);
  },
  (error) => {
    process.stderr.write(`\ndeflate: FAILED: ${error.message}\n`);
    killAll();
    process.exit(1);
  },
);
