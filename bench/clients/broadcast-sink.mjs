// The receiving end of bench/pubsub.mjs: opens --conns WebSocket connections with raw sockets
// (a fixed upgrade request, the 101 checked), then only counts the bytes that arrive, so that
// its own cost per message is as small as it gets in Node. Standard input, one command a line:
// `expect BYTES` prints `DONE` once that many more bytes arrived on all connections together.
// Prints `OPEN <n>` once every connection is upgraded; exits when its standard input ends.
// With --stamp SIZE (every message SIZE bytes, its first 8 the server's process.hrtime.bigint()
// at publish: the same monotonic clock in both processes), every --sample'th connection also
// reads the stamps of the frames it receives; `stats` prints `STATS <p50 µs> <p99 µs> <count>`
// of publish-to-receipt latency since the last `stats`.
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    conns: { type: 'string', default: '10000' },
    burst: { type: 'string', default: '200' },
    stamp: { type: 'string' },
    sample: { type: 'string', default: '10' },
  },
});
const STAMP = values.stamp === undefined ? undefined : Number(values.stamp);
const HEADER = STAMP === undefined ? 0 : STAMP <= 125 ? 2 : STAMP <= 0xffff ? 4 : 10;
const FRAME = STAMP === undefined ? 0 : HEADER + STAMP;
const SAMPLE = Number(values.sample);
let latencies = [];
let upgraded = 0;
const port = Number(values.port);
const conns = Number(values.conns);
const REQUEST =
  'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

let received = 0;
let target = Number.POSITIVE_INFINITY;
const sockets = [];

function open() {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let head = '';
    const onHead = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onHead);
      if (!head.startsWith('HTTP/1.1 101')) {
        reject(new Error(`no 101: ${head.slice(0, 40)}`));
        return;
      }
      const rest = head.length - end - 4;
      if (rest > 0) count(rest);
      if (STAMP !== undefined && upgraded++ % SAMPLE === 0) {
        // Byte position in the frame stream (frames are all FRAME bytes; `rest` is a 101's tail).
        let pos = rest % FRAME;
        socket.on('data', (data) => {
          const now = process.hrtime.bigint();
          // Frame starts in this chunk whose stamp is whole in it (a split one is skipped).
          for (let s = pos === 0 ? 0 : FRAME - pos; s + HEADER + 8 <= data.length; s += FRAME) {
            latencies.push(Number(now - data.readBigUInt64BE(s + HEADER)) / 1000);
          }
          pos = (pos + data.length) % FRAME;
          count(data.length);
        });
      } else {
        socket.on('data', (data) => count(data.length));
      }
      resolve(socket);
    };
    socket.on('data', onHead);
    socket.on('error', reject);
    socket.on('connect', () => socket.write(REQUEST));
  });
}

function count(n) {
  received += n;
  if (received >= target) done();
}

function done() {
  received -= target;
  target = Number.POSITIVE_INFINITY;
  process.stdout.write('DONE\n');
}

const burst = Number(values.burst);
for (let i = 0; i < conns; i += burst) {
  const batch = [];
  for (let j = i; j < Math.min(conns, i + burst); j++) batch.push(open());
  sockets.push(...(await Promise.all(batch)));
}
process.stdout.write(`OPEN ${sockets.length}\n`);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, arg] = line.trim().split(' ');
  if (command === 'expect') {
    target = Number(arg);
    if (received >= target) done();
  } else if (command === 'stats') {
    const sorted = latencies.sort((a, b) => a - b);
    const at = (p) =>
      sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
    process.stdout.write(`STATS ${at(50).toFixed(0)} ${at(99).toFixed(0)} ${sorted.length}\n`);
    latencies = [];
  }
});
lines.on('close', () => process.exit(0));
