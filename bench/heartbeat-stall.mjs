#!/usr/bin/env node
// How much the heartbeat holds up a busy server (not in CI): a tsws server with the article's
// 5 s heartbeat (bench/servers/tsws-soak.mjs) holds --conns idle connections (ws clients in a
// child process, answering pings), while a probe connection sends a 16-byte message every 2 ms
// and times each echo. A sweep that pings every connection at once shows as a burst of slow
// echoes every interval; a sliced sweep (src/node/heartbeat.ts) spreads the pings.
//
//   npm run build && node bench/heartbeat-stall.mjs [--conns 10000] [--seconds 30]
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  options: {
    conns: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '30' },
  },
});
const CONNS = Number(values.conns);
const SECONDS = Number(values.seconds);
const here = fileURLToPath(new URL('.', import.meta.url));

const server = spawn(
  process.execPath,
  [join(here, 'servers', 'tsws-soak.mjs'), '--exit-with-stdin'],
  {
    stdio: ['pipe', 'pipe', 'inherit'],
  },
);
const port = await new Promise((resolve, reject) => {
  createInterface({ input: server.stdout }).on('line', (line) => {
    if (line.startsWith('READY ')) resolve(Number(line.slice(6)));
  });
  server.on('exit', () => reject(new Error('the server exited')));
});
const url = `ws://127.0.0.1:${port}/`;

// The idle peers, in their own process (so that answering 10,000 pings does not delay the probe).
const idle = spawn(
  process.execPath,
  [
    '--input-type=module',
    '-e',
    `import WebSocket from 'ws';
     let open = 0, pending = 0, i = 0;
     const all = [];
     await new Promise((resolve) => {
       const next = () => {
         while (pending < 200 && i < ${CONNS}) {
           i++; pending++;
           const ws = new WebSocket('${url}', { perMessageDeflate: false });
           all.push(ws);
           ws.on('open', () => { open++; pending--; if (open === ${CONNS}) resolve(); else next(); });
           ws.on('error', (e) => { console.error(e.message); process.exit(1); });
         }
       };
       next();
     });
     console.log('OPEN');
     process.stdin.on('end', () => process.exit(0));
     process.stdin.resume();`,
  ],
  { stdio: ['pipe', 'pipe', 'inherit'], cwd: join(here, '..') },
);
await new Promise((resolve, reject) => {
  createInterface({ input: idle.stdout }).on('line', (line) => line === 'OPEN' && resolve());
  idle.on('exit', () => reject(new Error('the idle clients exited')));
});

const probe = new WebSocket(url, { perMessageDeflate: false });
await new Promise((resolve) => probe.on('open', resolve));
const sentAt = [];
const rtts = [];
probe.on('message', () => rtts.push(performance.now() - sentAt.shift()));
const payload = Buffer.alloc(16);
const timer = setInterval(() => {
  sentAt.push(performance.now());
  probe.send(payload);
}, 2);
process.stderr.write(`${CONNS} idle connections open; probing for ${SECONDS} s\n`);
await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
clearInterval(timer);
probe.terminate();
idle.stdin.end();
server.stdin.end();

rtts.sort((a, b) => a - b);
const q = (p) => rtts[Math.min(rtts.length - 1, Math.floor(p * rtts.length))].toFixed(2);
const over = (ms) => rtts.filter((r) => r > ms).length;
console.log(
  `echoes ${rtts.length}  p50 ${q(0.5)} ms  p99 ${q(0.99)} ms  p99.9 ${q(0.999)} ms  max ${q(1)} ms  ` +
    `> 5 ms: ${over(5)}  > 20 ms: ${over(20)}  (heartbeat sweeps in the window: ${Math.floor(SECONDS / 5)})`,
);
process.exit(0);
