// The receiving end of bench/pubsub.mjs: opens --conns WebSocket connections with raw sockets
// (a fixed upgrade request, the 101 checked), then only counts the bytes that arrive, so that
// its own cost per message is as small as it gets in Node. Standard input, one command a line:
// `expect BYTES` prints `DONE` once that many more bytes arrived on all connections together.
// Prints `OPEN <n>` once every connection is upgraded; exits when its standard input ends.
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    conns: { type: 'string', default: '10000' },
    burst: { type: 'string', default: '200' },
  },
});
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
      socket.on('data', (data) => count(data.length));
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
  }
});
lines.on('close', () => process.exit(0));
