// An echo server and a client talking to it, in one process.
// Run: npm run build:examples && node build/examples/echo.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'tsws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws, req) => {
  console.log(`server: connection from ${req.socket.remoteAddress}`);
  // Send every message back with the same type (text or binary).
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
await once(wss, 'listening');

const { port } = wss.address() as AddressInfo;
const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`);
ws.on('open', () => {
  ws.send('hello');
  ws.send(Buffer.from([1, 2, 3]));
});
let received = 0;
ws.on('message', (data, isBinary) => {
  console.log(
    `client: ${isBinary ? 'binary' : 'text'} ${isBinary ? (data as Buffer).toString('hex') : data}`,
  );
  if (++received === 2) ws.close(1000, 'done');
});
ws.on('close', (code, reason) => {
  console.log(`client: closed ${code}${reason.length > 0 ? ` ${reason}` : ''}`);
  wss.close();
});
