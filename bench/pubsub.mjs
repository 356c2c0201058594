#!/usr/bin/env node
// Pub/sub benchmarks (docs/benchmarks.md, "Pub/sub"), every figure from the same run:
//
// broadcast  One message to --conns subscribers (10,000 by default), deliveries per second:
//            tsws `server.publish` (framed once, one write per subscriber) against ws looping
//            over its clients with `ws.send`, and tsws looping the same way. The server runs on
//            CPU 1 and a raw-socket sink holding every connection on CPU 0 (taskset); a round
//            is: the sink is told how many bytes to expect, the server publishes --burst
//            messages back to back, the round ends when the sink has every byte. Two figures
//            per round: the server's (until every write was handed to the kernel: what the
//            server can do) and end to end (until the sink has every byte: bound by the sink,
//            a Node process reading 10,000 sockets, on one CPU). Median of --rounds rounds
//            after --warmup rounds.
// coalesce   The pubsub.coalesce option: for each --windows (microseconds; and off), tsws
//            publish with the window, and the ws loop, at --coalesce-cases (SIZExBURST, the
//            burst spread by --spread: each publish in its own tick by default, as publishes
//            made by separate incoming messages). Every message carries its publish time
//            (process.hrtime, one monotonic clock for both processes); every 10th connection of
//            the sink reads it: latency p50/p99 from publish to receipt. Throughput: end-to-end
//            deliveries/s and the server's CPU per delivery over the measured rounds (a window's
//            writes come after the server's PUBLISHED, so its "handed" time does not apply).
// redis      What Redis adds per message (in this process, a tsws server and one subscribed
//            tsws client): the publish-to-delivery latency, one message at a time, and the
//            throughput of a burst (one burst to warm up, then the median of --redis-bursts),
//            with the in-process broker and with the Redis adapter on --redis (keys under a
//            prefix of the run, expiring after a minute), and Redis's own CPU per message (INFO
//            cpu before and after the measured bursts: use a Redis of your own for it).
//
// Run: npm run build && node bench/pubsub.mjs [--only broadcast,redis] [--help]
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const USAGE = `Usage: node bench/pubsub.mjs [options]

  --only LIST         broadcast, coalesce, redis (default: broadcast,redis)
  --conns N           subscribers of the broadcast (default 10000)
  --cases LIST        broadcast cases SIZExBURST: payload bytes x messages per round
                      (default 64x1,4096x10)
  --size BYTES        payload of the redis figures' messages (default 64)
  --rounds N          measured rounds (default 30)      --warmup N   rounds before (default 5)
  --impls LIST        tsws, tsws-loop, ws, floor, floor-uv (default: all five; floor:
                      prebuilt frames written to net sockets in a loop, no WebSocket library;
                      floor-uv: the same on libuv TCP handles, as tsws's fast path)
  --windows LIST      coalesce: window delays in µs (default 0,100,1000; off always runs)
  --coalesce-messages N   coalesce: the window's count bound (default 64)
  --coalesce-cases LIST   coalesce: SIZExBURST (default 64x1,64x10)
  --spread MODE       coalesce: a burst's publishes in one tick, own ticks, own turns
                      (tick, ticks, turns; default ticks)
  --redis URL         Redis for the redis figures (default redis://127.0.0.1:6379)
  --redis-messages N  messages of a redis burst (default 20000)
  --redis-bursts N    measured bursts, after one to warm up (default 5; the median)
  --redis-trips N     one-at-a-time round trips for the latency (default 2000)
  --out DIR           where pubsub.md and pubsub.json go (default bench/results)
  --help
`;

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'broadcast,redis' },
    conns: { type: 'string', default: '10000' },
    cases: { type: 'string', default: '64x1,4096x10' },
    size: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '5' },
    impls: { type: 'string', default: 'tsws,tsws-loop,ws,floor,floor-uv' },
    windows: { type: 'string', default: '0,100,1000' },
    'coalesce-messages': { type: 'string', default: '64' },
    'coalesce-cases': { type: 'string', default: '64x1,64x10' },
    spread: { type: 'string', default: 'ticks' },
    redis: { type: 'string', default: 'redis://127.0.0.1:6379' },
    'redis-messages': { type: 'string', default: '20000' },
    'redis-bursts': { type: 'string', default: '5' },
    'redis-trips': { type: 'string', default: '2000' },
    out: { type: 'string', default: path.join(ROOT, 'bench', 'results') },
    help: { type: 'boolean', default: false },
  },
});
if (opt.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const ONLY = new Set(opt.only.split(','));
const CONNS = Number(opt.conns);
const SIZE = Number(opt.size);
const parseCases = (list) =>
  list.split(',').map((c) => {
    const [size, burst] = c.split('x').map(Number);
    if (!(size >= 0 && burst >= 1)) throw new Error(`bad case: ${c} (SIZExBURST)`);
    return { size, burst };
  });
const CASES = parseCases(opt.cases);
const ROUNDS = Number(opt.rounds);
const WARMUP = Number(opt.warmup);
const IMPLS = opt.impls.split(',');
const LABELS = {
  tsws: 'tsws publish',
  'tsws-loop': 'tsws loop',
  ws: 'ws loop',
  floor: 'floor (net sockets, prebuilt frame)',
  'floor-uv': 'floor (libuv TCP handles, prebuilt frame)',
};

const log = (line) => process.stderr.write(`${line}\n`);
const median = (list) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};
const percentile = (list, p) => {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
};
const pinned = spawnSync('taskset', ['-c', '1', 'true']).status === 0;
const pin = (cpu) => (pinned ? ['taskset', '-c', String(cpu)] : []);

/** A child whose stdout lines can be awaited in order. */
function child(args, cpu) {
  const [command, ...rest] = [...pin(cpu), process.execPath, ...args];
  const proc = spawn(command, rest, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  let partial = '';
  proc.stdout.setEncoding('utf8').on('data', (text) => {
    partial += text;
    for (let nl = partial.indexOf('\n'); nl >= 0; nl = partial.indexOf('\n')) {
      lines.push(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
    while (waiters.length > 0 && lines.length > 0) waiters.shift()(lines.shift());
  });
  proc.on('exit', (code) => {
    for (const w of waiters.splice(0)) w(`EXIT ${code}`);
  });
  return {
    proc,
    send: (line) => proc.stdin.write(`${line}\n`),
    line: () =>
      lines.length > 0 ? Promise.resolve(lines.shift()) : new Promise((r) => waiters.push(r)),
    stop: async () => {
      proc.stdin.end();
      if (proc.exitCode === null) await once(proc, 'exit');
    },
  };
}

async function expectLine(c, prefix) {
  const line = await c.line();
  if (!line.startsWith(prefix)) throw new Error(`expected ${prefix}, got: ${line}`);
  return line.slice(prefix.length).trim();
}

const frameBytes = (size) => size + (size <= 125 ? 2 : size <= 65535 ? 4 : 10);

/**
 * One server against the sink for a case. `extra` (the coalesce figures): `label`, `args` for
 * the server, `spread` of a burst, `stamp` (latency at the sink, server CPU per delivery).
 */
async function broadcast(impl, { size, burst }, extra = {}) {
  const BURST = burst;
  const stamp = extra.stamp === true;
  const server = child(
    [
      'bench/servers/broadcast.mjs',
      '--impl',
      impl,
      '--size',
      String(size),
      ...(stamp ? ['--stamp'] : []),
      ...(extra.args ?? []),
    ],
    1,
  );
  const port = await expectLine(server, 'READY');
  const sink = child(
    [
      'bench/clients/broadcast-sink.mjs',
      '--port',
      port,
      '--conns',
      String(CONNS),
      ...(stamp ? ['--stamp', String(size)] : []),
    ],
    0,
  );
  try {
    await expectLine(sink, 'OPEN');
    server.send('count');
    const count = Number(await expectLine(server, 'COUNT'));
    if (count !== CONNS) throw new Error(`${impl}: ${count} connections, not ${CONNS}`);
    const times = [];
    const loops = [];
    const handed = [];
    let cpuBefore = 0;
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      if (round === WARMUP) {
        if (stamp) {
          sink.send('stats');
          await expectLine(sink, 'STATS');
        }
        server.send('cpu');
        cpuBefore = Number(await expectLine(server, 'CPU'));
      }
      sink.send(`expect ${CONNS * BURST * frameBytes(size)}`);
      const start = performance.now();
      server.send(`publish ${BURST}${extra.spread ? ` ${extra.spread}` : ''}`);
      const [loop, hand] = (await expectLine(server, 'PUBLISHED')).split(' ').map(Number);
      await expectLine(sink, 'DONE');
      const ms = performance.now() - start;
      if (round >= WARMUP) {
        times.push(ms);
        loops.push(loop);
        handed.push(hand);
      }
    }
    const ms = median(times);
    const handedMs = median(handed);
    server.send('cpu');
    const cpu = Number(await expectLine(server, 'CPU')) - cpuBefore;
    // CPU time, unlike the clock, does not count time waiting for a CPU (a loaded machine).
    const latency = { serverCpuUsPerDelivery: cpu / (CONNS * BURST * ROUNDS) };
    if (stamp) {
      sink.send('stats');
      const [p50, p99, samples] = (await expectLine(sink, 'STATS')).split(' ').map(Number);
      Object.assign(latency, { latencyP50Us: p50, latencyP99Us: p99, latencySamples: samples });
    }
    const result = {
      impl,
      label: extra.label ?? LABELS[impl],
      ...latency,
      serverDeliveriesPerSecond: (CONNS * BURST) / (handedMs / 1000),
      serverMs: handedMs,
      serverP90Ms: percentile(handed, 90),
      loopMs: median(loops),
      endToEndDeliveriesPerSecond: (CONNS * BURST) / (ms / 1000),
      endToEndMs: ms,
    };
    log(
      `${result.label}: server ${Math.round(result.serverDeliveriesPerSecond).toLocaleString('en')} deliveries/s ` +
        `(${handedMs.toFixed(1)} ms, loop ${result.loopMs.toFixed(1)} ms); end to end ` +
        `${Math.round(result.endToEndDeliveriesPerSecond).toLocaleString('en')} deliveries/s (${ms.toFixed(1)} ms); ` +
        `server CPU ${latency.serverCpuUsPerDelivery.toFixed(2)} µs/delivery` +
        (stamp
          ? `; latency p50 ${latency.latencyP50Us} µs, p99 ${latency.latencyP99Us} µs (${latency.latencySamples} samples)`
          : ''),
    );
    return result;
  } finally {
    await sink.stop();
    await server.stop();
  }
}

// ---------------------------------------------------------------- redis

async function redisFigures() {
  const { WebSocket, WebSocketServer, LocalAdapter } = await import('../dist/index.js');
  const { RedisAdapter } = await import('../dist/pubsub/redis/index.js');
  const { Redis } = await import('ioredis');
  const admin = new Redis(opt.redis, { maxRetriesPerRequest: 1 });
  const redisCpu = async () => {
    const info = await admin.info('cpu');
    const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)[1]);
    return field('used_cpu_sys') + field('used_cpu_user');
  };
  const out = {};
  for (const mode of ['local', 'redis']) {
    const adapter =
      mode === 'local'
        ? new LocalAdapter()
        : new RedisAdapter({
            url: opt.redis,
            prefix: `tsws-bench:${process.pid}:`,
            historyTtl: 60_000,
          });
    const wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      heartbeat: false,
      pubsub: { adapter },
    });
    await once(wss, 'listening');
    if (mode === 'redis') await adapter.ready();
    const connected = once(wss, 'connection');
    const client = new WebSocket(`ws://127.0.0.1:${wss.address().port}/`);
    const [server] = await connected;
    await once(client, 'open');
    server.subscribe('bench');
    let received = 0;
    let wake;
    client.on('message', () => {
      received++;
      wake?.();
    });
    const until = (n) =>
      new Promise((resolve) => {
        if (received >= n) resolve();
        else
          wake = () => {
            if (received >= n) {
              wake = undefined;
              resolve();
            }
          };
      });
    const payload = Buffer.alloc(SIZE, 0x61);
    // Let the subscription settle (with Redis: SUBSCRIBE acknowledged).
    wss.publish('bench', payload);
    await until(1);
    const trips = Number(opt['redis-trips']);
    const latencies = [];
    for (let i = 0; i < trips; i++) {
      const start = performance.now();
      const target = received + 1;
      wss.publish('bench', payload);
      await until(target);
      latencies.push((performance.now() - start) * 1000);
    }
    const messages = Number(opt['redis-messages']);
    const burst = async () => {
      const start = performance.now();
      const target = received + messages;
      for (let i = 0; i < messages; i++) wss.publish('bench', payload);
      await until(target);
      return messages / ((performance.now() - start) / 1000);
    };
    await burst();
    const bursts = Number(opt['redis-bursts']);
    const rates = [];
    const cpuBefore = process.cpuUsage();
    const redisBefore = mode === 'redis' ? await redisCpu() : 0;
    for (let i = 0; i < bursts; i++) rates.push(await burst());
    const cpu = process.cpuUsage(cpuBefore);
    const redisSeconds = mode === 'redis' ? (await redisCpu()) - redisBefore : 0;
    const sent = messages * bursts;
    out[mode] = {
      latencyP50Us: percentile(latencies, 50),
      latencyP99Us: percentile(latencies, 99),
      burstMsgsPerSecond: median(rates),
      burstMsgsPerSecondMin: Math.min(...rates),
      burstMsgsPerSecondMax: Math.max(...rates),
      nodeCpuUsPerMessage: (cpu.user + cpu.system) / sent,
      redisCpuUsPerMessage: (redisSeconds * 1e6) / sent,
    };
    log(
      `${mode}: latency p50 ${out[mode].latencyP50Us.toFixed(0)} µs, p99 ${out[mode].latencyP99Us.toFixed(0)} µs; ` +
        `burst ${Math.round(out[mode].burstMsgsPerSecond).toLocaleString('en')} msgs/s ` +
        `(${Math.round(out[mode].burstMsgsPerSecondMin).toLocaleString('en')}-${Math.round(out[mode].burstMsgsPerSecondMax).toLocaleString('en')}); ` +
        `Node CPU ${out[mode].nodeCpuUsPerMessage.toFixed(1)} µs/msg, Redis CPU ${out[mode].redisCpuUsPerMessage.toFixed(1)} µs/msg`,
    );
    client.close();
    await once(client, 'close');
    await new Promise((resolve) => wss.close(resolve));
  }
  await admin.quit();
  return out;
}

// ---------------------------------------------------------------- run and report

const results = { date: new Date().toISOString(), conns: CONNS, pinned };
if (ONLY.has('broadcast')) {
  results.broadcast = [];
  for (const c of CASES) {
    log(
      `broadcast: ${CONNS} subscribers, ${c.size}-byte messages, ${c.burst} per round, ${ROUNDS} rounds`,
    );
    const rows = [];
    for (const impl of IMPLS) rows.push(await broadcast(impl, c));
    results.broadcast.push({ ...c, rows });
  }
}
if (ONLY.has('coalesce')) {
  results.coalesce = [];
  const windows = opt.windows
    .split(',')
    .filter((w) => w !== '')
    .map(Number);
  const messages = Number(opt['coalesce-messages']);
  for (const c of parseCases(opt['coalesce-cases'])) {
    const spread = c.burst > 1 ? opt.spread : 'tick';
    log(
      `coalesce: ${CONNS} subscribers, ${c.size}-byte messages, ${c.burst} per round (${spread}), ${ROUNDS} rounds`,
    );
    const rows = [];
    const stamped = { stamp: true, spread };
    rows.push(await broadcast('tsws', c, { ...stamped, label: 'tsws publish, no window' }));
    for (const delay of windows) {
      rows.push(
        await broadcast('tsws', c, {
          ...stamped,
          label: `tsws publish, window ${delay} µs / ${messages} msgs`,
          args: ['--coalesce', `${delay}/${messages}`],
        }),
      );
    }
    rows.push(await broadcast('ws', c, { ...stamped, label: 'ws loop' }));
    results.coalesce.push({ ...c, spread, rows });
  }
}
if (ONLY.has('redis')) {
  log(`redis: ${opt.redis}, ${SIZE}-byte messages`);
  results.redis = await redisFigures();
}

const md = [];
for (const { size, burst, rows } of results.broadcast ?? []) {
  const ws = rows.find((r) => r.impl === 'ws');
  md.push(
    `Broadcast to ${CONNS.toLocaleString('en')} subscribers, ${size}-byte binary messages, ${burst} per round, median of ${ROUNDS} rounds${pinned ? ' (server on CPU 1, sink on CPU 0)' : ''}:`,
    '',
    '| server | deliveries/s (server) | time to hand to the kernel (p50 / p90) | of which the loop | vs ws loop | end to end deliveries/s | vs ws loop | server CPU per delivery |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  const x = (a, b) => (b ? `${(a / b).toFixed(2)}×` : '');
  for (const r of rows) {
    md.push(
      `| ${r.label} | ${Math.round(r.serverDeliveriesPerSecond).toLocaleString('en')} | ${r.serverMs.toFixed(1)} / ${r.serverP90Ms.toFixed(1)} ms | ${r.loopMs.toFixed(1)} ms | ${x(r.serverDeliveriesPerSecond, ws?.serverDeliveriesPerSecond)} | ${Math.round(r.endToEndDeliveriesPerSecond).toLocaleString('en')} | ${x(r.endToEndDeliveriesPerSecond, ws?.endToEndDeliveriesPerSecond)} | ${r.serverCpuUsPerDelivery.toFixed(2)} µs |`,
    );
  }
  md.push('');
}
for (const { size, burst, spread, rows } of results.coalesce ?? []) {
  const how = { tick: 'in one tick', ticks: 'each in its own tick', turns: 'each in its own turn' };
  md.push(
    `Coalescing, ${CONNS.toLocaleString('en')} subscribers, ${size}-byte binary messages, ${burst} per round${burst > 1 ? ` (${how[spread]})` : ''}, median of ${ROUNDS} rounds${pinned ? ' (server on CPU 1, sink on CPU 0)' : ''}:`,
    '',
    '| server | end to end deliveries/s | server CPU per delivery | latency p50 | latency p99 |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const r of rows) {
    md.push(
      `| ${r.label} | ${Math.round(r.endToEndDeliveriesPerSecond).toLocaleString('en')} | ${r.serverCpuUsPerDelivery.toFixed(2)} µs | ${r.latencyP50Us.toLocaleString('en')} µs | ${r.latencyP99Us.toLocaleString('en')} µs |`,
    );
  }
  md.push('');
}
if (results.redis) {
  const { local, redis } = results.redis;
  md.push(
    `What Redis adds, one subscriber, ${SIZE}-byte messages (latency: one message at a time; burst: ${Number(opt['redis-messages']).toLocaleString('en')} back to back, median of ${opt['redis-bursts']} after one to warm up):`,
    '',
    '| broker | latency p50 | latency p99 | burst msgs/s | Node CPU per msg | Redis CPU per msg |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const [name, r] of [
    ['in-process', local],
    ['Redis adapter', redis],
  ]) {
    md.push(
      `| ${name} | ${r.latencyP50Us.toFixed(0)} µs | ${r.latencyP99Us.toFixed(0)} µs | ${Math.round(r.burstMsgsPerSecond).toLocaleString('en')} | ${r.nodeCpuUsPerMessage.toFixed(1)} µs | ${name === 'in-process' ? '-' : `${r.redisCpuUsPerMessage.toFixed(1)} µs`} |`,
    );
  }
  md.push(
    '',
    `Redis adds ${(redis.latencyP50Us - local.latencyP50Us).toFixed(0)} µs to the median latency and ${(redis.nodeCpuUsPerMessage - local.nodeCpuUsPerMessage).toFixed(1)} µs of Node CPU per message.`,
    '',
  );
}
process.stdout.write(`${md.join('\n')}\n`);
mkdirSync(opt.out, { recursive: true });
writeFileSync(path.join(opt.out, 'pubsub.md'), `${md.join('\n')}\n`);
writeFileSync(path.join(opt.out, 'pubsub.json'), `${JSON.stringify(results, null, 2)}\n`);
