#!/usr/bin/env node
// Memory per connection of a WebSocket client with and without permessage-deflate: opens N
// clients of one library in this process to an echo server, each exchanges one compressed
// JSON message, then reports (memory after - memory before) / N, after forced garbage
// collections. Run with --expose-gc; bench/deflate.mjs runs it.
//
//   node --expose-gc bench/clients/deflate-client-mem.mjs ws://127.0.0.1:PORT/ --client tsws|ws
//        [--deflate on|off] [--connections 2000] [--size 4096] [--settle 2000]
import { parseArgs } from 'node:util';
import { WebSocket as WsWebSocket } from 'ws';
import { WebSocket as TswsWebSocket } from '../../dist/index.js';
import { jsonText } from '../lib/json-text.mjs';

const { values: opt, positionals } = parseArgs({
  options: {
    client: { type: 'string', default: 'tsws' },
    deflate: { type: 'string', default: 'on' },
    connections: { type: 'string', default: '2000' },
    size: { type: 'string', default: '4096' },
    settle: { type: 'string', default: '2000' },
  },
  allowPositionals: true,
  strict: true,
});
const url = positionals[0];
const N = Number(opt.connections);
const deflate = opt.deflate === 'on';
const texts = Array.from({ length: 64 }, (_, i) => jsonText(Number(opt.size), i + 1));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function open(i) {
  const ws =
    opt.client === 'tsws'
      ? new TswsWebSocket(url, { heartbeat: false, perMessageDeflate: deflate })
      : new WsWebSocket(url, { perMessageDeflate: deflate });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      const text = texts[i % texts.length];
      ws.once('message', (data) => {
        if (!Buffer.from(data).equals(text)) reject(new Error('wrong echo'));
        else resolve(ws);
      });
      ws.send(text.toString());
    });
  });
}

async function openMany(n) {
  const list = [];
  for (let i = 0; i < n; i += 100) {
    list.push(
      ...(await Promise.all(Array.from({ length: Math.min(100, n - i) }, (_, k) => open(i + k)))),
    );
  }
  return list;
}

function memory() {
  globalThis.gc?.();
  globalThis.gc?.();
  return process.memoryUsage();
}

const warm = await openMany(100);
for (const ws of warm) ws.terminate();
await sleep(500);
const before = memory();
const clients = await openMany(N);
await sleep(Number(opt.settle));
const after = memory();
const extensions = clients[0].extensions;
const per = (k) => Math.round((after[k] - before[k]) / N);
process.stdout.write(
  `${JSON.stringify({
    client: opt.client,
    deflate,
    extensions: typeof extensions === 'string' ? extensions : Object.keys(extensions ?? {}).join(),
    conns: N,
    rss_per_conn: per('rss'),
    heap_per_conn: per('heapUsed'),
    external_per_conn: per('external'),
    errors: 0,
  })}\n`,
);
for (const ws of clients) ws.terminate();
process.exit(0);
