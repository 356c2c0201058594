// Refusing or accepting upgrades with an asynchronous check, and data passed to the connection.
// Run: npm run build:examples && node build/examples/authenticate.js
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpgradeRejection, WebSocket, WebSocketServer } from 'tsws';

const users = new Map([['secret-token', { name: 'ada' }]]);

const wss = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  // Runs before the 101 response; what it returns becomes `ws.data`.
  async authenticate(req: IncomingMessage) {
    const token = new URL(req.url ?? '/', 'http://localhost').searchParams.get('token');
    const user = token === null ? undefined : users.get(token);
    if (user === undefined) {
      throw new UpgradeRejection(401, 'Unknown token', { 'WWW-Authenticate': 'Bearer' });
    }
    return user;
  },
});
wss.on('connection', (ws) => {
  const user = ws.data as { name: string };
  ws.send(`welcome, ${user.name}`);
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

const refused = new WebSocket(`ws://127.0.0.1:${port}/?token=wrong`);
refused.on('unexpected-response', (_req, res) => {
  console.log(`refused: ${res.statusCode} ${res.headers['www-authenticate']}`);
  refused.terminate();
});

const accepted = new WebSocket(`ws://127.0.0.1:${port}/?token=secret-token`);
accepted.on('message', (data) => {
  console.log(`accepted: ${data}`);
  accepted.close();
});
accepted.on('close', () => wss.close());
