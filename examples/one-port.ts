// Plain HTTP and WebSocket on one port: a request listener for the page and an API, the
// WebSocket server for upgrades. WebSocket connections keep the standalone server's fast path.
// Run: npm run build:examples && node build/examples/one-port.js
import { once } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'tsws';

function handleRequest(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/health') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ connections: wss.clients?.size }));
    return;
  }
  res.writeHead(404).end();
}

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleRequest });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
await once(ws, 'open');
ws.send('hello');
const [reply] = await once(ws, 'message');
console.log(`websocket: ${reply}`);

const health = await fetch(`http://127.0.0.1:${port}/health`);
console.log(`http: ${health.status} ${await health.text()}`);

ws.close();
await once(ws, 'close');
wss.close();
