#!/usr/bin/env node
// The process memory budget's effect (issue 11; docs/reliability.md, "Memory per process"):
// N peers each send one large message at once, compressed (a compression bomb: a few KiB on the
// wire, `--size` MiB inflated) or not; the server's peak RSS, with no budget and with a budget
// of `--budget` MiB under each policy.
//
//   npm run build && node bench/memory-budget.mjs [--peers 8] [--size 32] [--budget 64]
//
// The server runs in a child process (its RSS is sampled every 5 ms, nothing else in it); it
// keeps no message, it only counts them, and collects garbage after each (--expose-gc) so that
// RSS shows live memory. It prints a Markdown table.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    peers: { type: 'string', default: '8' },
    size: { type: 'string', default: '32' },
    budget: { type: 'string', default: '64' },
    maxPayload: { type: 'string', default: '100' },
    serve: { type: 'string' },
    kind: { type: 'string' },
  },
});
const MiB = 1024 * 1024;
const peers = Number(values.peers);
const size = Number(values.size) * MiB;
const budget = Number(values.budget) * MiB;
const maxPayload = Number(values.maxPayload) * MiB;

if (values.serve !== undefined) await serve(values.serve, values.kind === 'compressed');
else await main();

async function serve(mode, compressed) {
  const { WebSocketServer, MemoryBudget } = await import('../dist/index.js');
  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 5);
  const memoryBudget = mode === 'none' ? false : new MemoryBudget(budget);
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    maxPayload,
    memoryBudget,
    memoryBudgetPolicy: mode === 'none' ? undefined : mode,
    perMessageDeflate: compressed ? { threshold: 0 } : false,
  });
  let delivered = 0;
  let refused = 0;
  let outcomes = 0;
  const started = performance.now();
  const done = () => {
    if (++outcomes < peers) return;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    const ms = Math.round(performance.now() - started);
    const peakBudget = memoryBudget === false ? 0 : memoryBudget.peak;
    console.log(JSON.stringify({ peak, delivered, refused, ms, peakBudget }));
    for (const ws of wss.clients) ws.terminate();
    wss.close(() => process.exit(0));
  };
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data) => {
      delivered++;
      ws.send(String(data.length));
      // Collect now: RSS then shows what is live, not garbage waiting for V8's next GC.
      setImmediate(() => globalThis.gc?.());
      done();
    });
    ws.on('close', (code) => {
      if (code === 1009) {
        refused++;
        setImmediate(() => globalThis.gc?.());
        done();
      }
    });
  });
  wss.on('listening', () => console.log(JSON.stringify({ port: wss.address().port })));
}

async function run(mode, kind) {
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      new URL(import.meta.url).pathname,
      '--serve',
      mode,
      '--kind',
      kind,
      ...['--peers', String(peers), '--size', values.size, '--budget', values.budget],
      ...['--maxPayload', values.maxPayload],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = [];
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (s) => {
    buffered += s;
    let i = buffered.indexOf('\n');
    while (i >= 0) {
      lines.push(JSON.parse(buffered.slice(0, i)));
      buffered = buffered.slice(i + 1);
      i = buffered.indexOf('\n');
    }
  });
  while (lines.length === 0) await new Promise((r) => setTimeout(r, 10));
  const { port } = lines[0];
  const { WebSocket } = await import('../dist/index.js');
  // A repeating pattern: compresses about 1000:1, like a bomb.
  const payload = Buffer.alloc(size, 'abcdefgh');
  const clients = await Promise.all(
    Array.from({ length: peers }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}`, {
        perMessageDeflate: kind === 'compressed' ? { threshold: 0 } : false,
        maxPayload: 0,
      });
      ws.on('error', () => {});
      await once(ws, 'open');
      return ws;
    }),
  );
  for (const ws of clients) ws.send(payload);
  await once(child, 'exit');
  for (const ws of clients) ws.terminate();
  return lines[1];
}

async function main() {
  const rows = [];
  for (const kind of ['uncompressed', 'compressed']) {
    for (const mode of ['none', 'pause', 'refuse']) {
      const r = await run(mode, kind);
      rows.push(
        `| ${kind} | ${mode === 'none' ? 'no budget' : `${values.budget} MiB, '${mode}'`} | ` +
          `${Math.round(r.peak / MiB)} MiB | ${r.peakBudget ? `${Math.round(r.peakBudget / MiB)} MiB` : '-'} | ` +
          `${r.delivered} / ${r.refused} | ${r.ms} ms |`,
      );
      console.error(rows.at(-1));
    }
  }
  console.log(
    `\n${peers} peers, one ${values.size} MiB message each, sent at once; maxPayload ${values.maxPayload} MiB.\n`,
  );
  console.log(
    '| messages | budget | server peak RSS | budget peak | delivered / refused (1009) | time |',
  );
  console.log('| --- | --- | ---: | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
}
