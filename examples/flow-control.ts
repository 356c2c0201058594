// Flow control both ways, and a graceful shutdown that loses nothing.
// The server sends while send() returns true and waits for 'drain' when it returns false; the
// client reads with ws.messages(), which stops reading from TCP while the consumer is behind;
// then the server shuts down: every message sent before close() arrives first, then 1001.
// Run: npm run build:examples && node build/examples/flow-control.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'tsws';

const COUNT = 200;

const wss = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  // At most 1 MiB waits for this peer; a producer that ignored send()'s answer would be cut
  // off with 1008 beyond it.
  maxBackpressure: 1024 * 1024,
  backpressurePolicy: 'close',
});
wss.on('connection', async (ws) => {
  for (let i = 0; i < COUNT; i++) {
    const data = Buffer.alloc(64 * 1024);
    data.writeUInt32BE(i);
    if (!ws.send(data)) await once(ws, 'drain');
  }
  console.log(`server: ${COUNT} messages sent`);
  wss.close(() => console.log('server: closed'));
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
ws.on('close', (code) => console.log(`client: closed ${code}`));
let expected = 0;
// A slow consumer: at most 8 messages wait in memory, the rest stays in TCP and at the server.
for await (const [data] of ws.messages({ highWaterMark: 8 })) {
  if ((data as Buffer).readUInt32BE(0) !== expected) throw new Error('out of order');
  expected++;
  if (expected % 20 === 0) await sleep(5);
}
console.log(`client: ${expected} messages, in order`);
