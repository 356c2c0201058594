#!/usr/bin/env node
// Soak test (issue 6; not in CI): holds N connections to a tsws echo server for a long time with
// churn, and samples the server's memory after forced garbage collections, to show that heap and
// RSS stay flat. The peers are ws clients (a library we did not write), in this process.
//
//   npm run build && node bench/soak.mjs [--conns 10000] [--minutes 10] [--churn 100]
//        [--rate 2000] [--size 64] [--sample 30] [--server tsws|ws] [--out bench/results]
//
// Every second, --churn connections picked at random leave (a third with a close handshake, a
// third by dropping TCP, a third by half-closing without a close frame) and as many new ones
// open; --rate messages per second go to random connections, and every echo is checked (same
// bytes, in order per connection). At the end the churn stops and every pending echo must come
// back. The server runs with the article's 5 s heartbeat (bench/servers/tsws-soak.mjs), so its
// timers sweep all connections all along. Results: a table on stdout, and soak-latest.md /
// soak-latest.json in --out.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '10000' },
    minutes: { type: 'string', default: '10' },
    churn: { type: 'string', default: '100' },
    rate: { type: 'string', default: '2000' },
    size: { type: 'string', default: '64' },
    sample: { type: 'string', default: '30' },
    server: { type: 'string', default: 'tsws' },
    out: { type: 'string', default: 'bench/results' },
  },
});
const CONNS = Number(values.conns);
const MINUTES = Number(values.minutes);
const CHURN = Number(values.churn);
const RATE = Number(values.rate);
const SIZE = Number(values.size);
const SAMPLE_S = Number(values.sample);
const servers = { tsws: 'tsws-soak.mjs', ws: 'ws-echo.mjs' };
if (!servers[values.server]) {
  console.error('--server is tsws or ws');
  process.exit(2);
}

const here = fileURLToPath(new URL('.', import.meta.url));
const server = spawn(
  process.execPath,
  ['--expose-gc', join(here, 'servers', servers[values.server]), '--exit-with-stdin'],
  { stdio: ['pipe', 'pipe', 'inherit'] },
);
const lines = createInterface({ input: server.stdout });
let lineWaiter;
lines.on('line', (line) => lineWaiter?.(line));
const nextLine = (match) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not answer in 60 s')), 60_000);
    lineWaiter = (line) => {
      if (!match(line)) return;
      clearTimeout(timer);
      lineWaiter = undefined;
      resolve(line);
    };
  });
server.on('exit', (code, signal) => {
  if (!stopping) {
    console.error(`the server exited (${code ?? signal}) during the soak`);
    process.exit(1);
  }
});
let stopping = false;

const port = Number((await nextLine((l) => l.startsWith('READY '))).split(' ')[1]);
const url = `ws://127.0.0.1:${port}/`;

const stats = {
  opened: 0,
  failedToOpen: 0,
  left: { close: 0, drop: 0, halfClose: 0 },
  /** Echoes never received on connections that left, by the way they left. */
  unansweredOnLeave: { close: 0, drop: 0, halfClose: 0 },
  unexpectedClose: 0,
  sent: 0,
  echoed: 0,
  wrongEcho: 0,
};
/** Open connections: each with its queue of expected echoes. */
const live = [];

function open() {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    const peer = { ws, expected: [], leaving: undefined };
    let settled = false;
    const settle = (ok) => {
      if (settled) return;
      settled = true;
      if (!ok) stats.failedToOpen++;
      resolve(ok);
    };
    ws.on('open', () => {
      stats.opened++;
      live.push(peer);
      settle(true);
    });
    ws.on('message', (data) => {
      const want = peer.expected.shift();
      if (want === undefined || !want.equals(data)) stats.wrongEcho++;
      else stats.echoed++;
    });
    ws.on('error', () => settle(false));
    ws.on('close', () => {
      settle(false);
      if (peer.leaving === undefined && !stopping) stats.unexpectedClose++;
      if (peer.leaving !== undefined) stats.unansweredOnLeave[peer.leaving] += peer.expected.length;
      const i = live.indexOf(peer);
      if (i >= 0) live.splice(i, 1);
    });
  });
}

async function openMany(n, parallel = 200) {
  let left = n;
  await Promise.all(
    Array.from({ length: Math.min(parallel, n) }, async () => {
      while (left > 0) {
        left--;
        await open();
      }
    }),
  );
}

/** One connection leaves, in one of the three ways a real client does. */
function leave(peer) {
  const way = Math.floor(Math.random() * 3);
  peer.leaving = ['close', 'drop', 'halfClose'][way];
  if (way === 0) {
    stats.left.close++;
    peer.ws.close(1000);
  } else if (way === 1) {
    stats.left.drop++;
    peer.ws.terminate();
  } else {
    stats.left.halfClose++;
    peer.ws._socket?.end(); // FIN without a close frame
  }
  const i = live.indexOf(peer);
  if (i >= 0) live.splice(i, 1);
}

let seq = 0;
function sendSome(n) {
  for (let k = 0; k < n && live.length > 0; k++) {
    const peer = live[Math.floor(Math.random() * live.length)];
    if (peer.ws.readyState !== WebSocket.OPEN) continue;
    const payload = Buffer.alloc(SIZE, seq & 0xff);
    payload.writeUInt32BE(seq++ >>> 0, 0);
    peer.expected.push(payload);
    peer.ws.send(payload);
    stats.sent++;
  }
}

async function sampleMemory(elapsedS) {
  const line = nextLine((l) => l.startsWith('{'));
  server.kill('SIGUSR2');
  const m = JSON.parse(await line);
  const sample = { t: Math.round(elapsedS), clients: live.length, ...m };
  samples.push(sample);
  const mb = (b) => (b / 1048576).toFixed(1);
  console.error(
    `t=${String(sample.t).padStart(4)} s  conns ${m.connections}  rss ${mb(m.rss)} MB  heap ${mb(m.heapUsed)} MB  ` +
      `external ${mb(m.external)} MB  sent ${stats.sent}  echoed ${stats.echoed}  opened ${stats.opened}  ` +
      `unexpected closes ${stats.unexpectedClose}  wrong echoes ${stats.wrongEcho}`,
  );
}

const samples = [];
console.error(`soak: ${values.server} server on ${url}, opening ${CONNS} connections`);
const t0 = Date.now();
await openMany(CONNS);
console.error(`opened ${live.length} connections in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
const start = Date.now();
await sampleMemory(0);

const end = start + MINUTES * 60_000;
let nextSample = start + SAMPLE_S * 1000;
let opening = Promise.resolve();
while (Date.now() < end) {
  const tick = Date.now();
  // Churn: some leave, as many arrive (the arrivals run in the background of the next ticks).
  for (let i = 0; i < CHURN && live.length > 0; i++) {
    leave(live[Math.floor(Math.random() * live.length)]);
  }
  opening = opening.then(() => openMany(CHURN, 50));
  for (let slice = 0; slice < 10; slice++) {
    sendSome(Math.round(RATE / 10));
    await new Promise((resolve) =>
      setTimeout(resolve, Math.max(0, tick + (slice + 1) * 100 - Date.now())),
    );
  }
  if (Date.now() >= nextSample) {
    await sampleMemory((Date.now() - start) / 1000);
    nextSample += SAMPLE_S * 1000;
  }
}

// The end: no more churn; every echo still expected must come back.
await opening;
const deadline = Date.now() + 30_000;
while (live.some((p) => p.expected.length > 0) && Date.now() < deadline) {
  await new Promise((resolve) => setTimeout(resolve, 100));
}
const lost = live.reduce((n, p) => n + p.expected.length, 0);
await sampleMemory((Date.now() - start) / 1000);
stopping = true;
for (const peer of live) peer.ws.terminate();
server.stdin.end();

// ---- report ----
const mb = (b) => (b / 1048576).toFixed(1);
const warm = samples.find((s) => s.t >= Math.min(120, (MINUTES * 60) / 5)) ?? samples[0];
const last = samples[samples.length - 1];
/** Least-squares slope of `key` in bytes per minute over the samples from `warm` on. */
function slope(key) {
  const pts = samples.filter((s) => s.t >= warm.t);
  const n = pts.length;
  if (n < 2) return 0;
  const mx = pts.reduce((a, s) => a + s.t, 0) / n;
  const my = pts.reduce((a, s) => a + s[key], 0) / n;
  const num = pts.reduce((a, s) => a + (s.t - mx) * (s[key] - my), 0);
  const den = pts.reduce((a, s) => a + (s.t - mx) ** 2, 0);
  return (num / den) * 60;
}
const rows = samples.map(
  (s) =>
    `| ${s.t} | ${s.connections} | ${mb(s.rss)} | ${mb(s.heapUsed)} | ${mb(s.external)} | ${mb(s.arrayBuffers)} |`,
);
const churned = stats.left.close + stats.left.drop + stats.left.halfClose;
const report = `# Soak: ${values.server}, ${CONNS} connections, ${MINUTES} min

${new Date().toISOString()}, Node.js ${process.version}. Churn ${CHURN} connections/s (${churned} left: ${stats.left.close} with a close handshake, ${stats.left.drop} by dropping TCP, ${stats.left.halfClose} by half-closing), ${RATE} messages/s of ${SIZE} bytes.

| | |
|---|---|
| connections opened | ${stats.opened} (failed to open: ${stats.failedToOpen}) |
| messages sent / echoed | ${stats.sent} / ${stats.echoed} |
| echoes not received on connections that left (close / drop / half-close) | ${stats.unansweredOnLeave.close} / ${stats.unansweredOnLeave.drop} / ${stats.unansweredOnLeave.halfClose} |
| wrong or out-of-order echoes | ${stats.wrongEcho} |
| echoes lost on connections still open at the end | ${lost} |
| connections closed by the server unasked | ${stats.unexpectedClose} |
| heap used, from ${warm.t} s to the end | ${mb(warm.heapUsed)} MB → ${mb(last.heapUsed)} MB (slope ${(slope('heapUsed') / 1024).toFixed(1)} KiB/min) |
| RSS, from ${warm.t} s to the end | ${mb(warm.rss)} MB → ${mb(last.rss)} MB (slope ${(slope('rss') / 1024).toFixed(1)} KiB/min) |

Server memory after two forced garbage collections (MB):

| t (s) | server connections | RSS | heap used | external | array buffers |
|---:|---:|---:|---:|---:|---:|
${rows.join('\n')}
`;
console.log(report);
mkdirSync(values.out, { recursive: true });
writeFileSync(join(values.out, 'soak-latest.md'), report);
writeFileSync(
  join(values.out, 'soak-latest.json'),
  `${JSON.stringify({ options: values, stats, lost, samples }, null, 2)}\n`,
);
// An echo may be lost to a dropped connection; one that closed or half-closed must get them all.
const ok =
  stats.wrongEcho === 0 &&
  lost === 0 &&
  stats.unexpectedClose === 0 &&
  stats.unansweredOnLeave.close === 0 &&
  stats.unansweredOnLeave.halfClose === 0;
process.exit(ok ? 0 : 1);
