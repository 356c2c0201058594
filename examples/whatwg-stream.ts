// WebSocketStream in Node.js, as Chromium ships it: messages are read from a ReadableStream
// and written to a WritableStream. A reader that stops reading stops tsws reading from TCP,
// so a fast server cannot flood a slow client.
// Run: npm run build:examples && node build/examples/whatwg-stream.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'tsws';
import { WebSocketStream } from 'tsws/whatwg';

// A server that sends 200 messages of 64 KiB as fast as it can, then closes.
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => {
  ws.on('message', (data) => console.log(`server: got ${data}`));
  for (let i = 0; i < 200; i++) ws.send(Buffer.alloc(64 * 1024, i));
  ws.close(1000, 'that is all');
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

// Standard API only: the same code runs in Chromium.
const wss2 = new WebSocketStream(`ws://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
const { readable, writable, protocol } = await wss2.opened;
console.log(`client: open, protocol "${protocol}"`);
const writer = writable.getWriter();
await writer.write('hello from a stream');
const reader = readable.getReader();
let messages = 0;
let bytes = 0;
for (;;) {
  const { value, done } = await reader.read();
  if (done) break;
  // A slow consumer: while it waits, the server's messages wait in the server's buffers.
  if (messages % 50 === 0) await new Promise((resolve) => setTimeout(resolve, 20));
  messages++;
  bytes += (value as ArrayBuffer).byteLength;
}
console.log(`client: read ${messages} messages, ${bytes} bytes`);
const { closeCode, reason } = await wss2.closed;
console.log(`client: closed ${closeCode} ${reason}`);
wss.close();
