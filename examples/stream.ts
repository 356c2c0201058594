// Streaming a large message out in fragments without holding it whole, and receiving it.
// Run: npm run build:examples && node build/examples/stream.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'tsws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => {
  ws.on('message', (data) => {
    console.log(`server: one message of ${(data as Buffer).length} bytes`);
    ws.close();
  });
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

// 64 chunks of 64 KiB, produced on demand: the sender waits for the socket to drain.
async function* chunks() {
  for (let i = 0; i < 64; i++) yield Buffer.alloc(64 * 1024, i);
}

const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
ws.on('open', async () => {
  await ws.sendStream(chunks(), { binary: true });
  console.log('client: stream sent');
});
ws.on('close', (code) => {
  console.log(`client: closed ${code}`);
  wss.close();
});
