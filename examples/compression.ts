// permessage-deflate (RFC 7692): a server that turns it on (it is off by default), a client
// that offers it (on by default, as browsers do), and the per-message choices.
// Run: npm run build:examples && node build/examples/compression.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'tsws';

const wss = new WebSocketServer({
  port: 0,
  host: '127.0.0.1',
  perMessageDeflate: {
    // Keep no compression context between messages, in either direction: the zlib streams are
    // then shared by all connections instead of costing about 250 KiB each.
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    // Messages under 1 KiB are not worth compressing (the default).
    threshold: 1024,
  },
});
wss.on('connection', (ws) => {
  console.log(`server: agreed "${ws.extensions}"`);
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
await once(wss, 'listening');

const { port } = wss.address() as AddressInfo;
const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
await once(ws, 'open');
console.log(`client: agreed "${ws.extensions}"`);

const report = JSON.stringify(
  Array.from({ length: 200 }, (_, id) => ({ id, status: 'shipped', price: id * 3 })),
);
ws.send(report); // compressed: over the threshold
ws.send('small'); // under the threshold: sent as it is
ws.send(report, { compress: false }); // uncompressed on purpose (already compressed data, say)

let received = 0;
ws.on('message', (data) => {
  console.log(`client: message of ${(data as Buffer).length} bytes`);
  if (++received === 3) ws.close(1000, 'done');
});
await once(ws, 'close');
console.log('client: closed');
wss.close();
