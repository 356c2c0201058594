// The browser's WebSocket in Node.js: `chat` is the code a web page would run, word for word.
// Run: npm run build:examples && node build/examples/whatwg-websocket.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'tsws';
import { WebSocket } from 'tsws/whatwg';

// An echo server that speaks the `chat.v1` subprotocol.
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', handleProtocols: () => 'chat.v1' });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

// Standard API only: the same function runs in a browser, with the browser's WebSocket.
function chat(url: string): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, ['chat.v1']);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => {
      console.log(`client: open, protocol ${ws.protocol}`);
      ws.send('hello');
      ws.send(new Uint8Array([1, 2, 3]));
      console.log(`client: bufferedAmount ${ws.bufferedAmount}`);
    };
    let received = 0;
    ws.onmessage = (event: MessageEvent) => {
      const data = event.data as string | ArrayBuffer;
      if (typeof data === 'string') console.log(`client: text ${data}`);
      else console.log(`client: binary ${[...new Uint8Array(data)].join(',')}`);
      if (++received === 2) ws.close(1000, 'done');
    };
    ws.onclose = (event: CloseEvent) => {
      console.log(`client: closed ${event.code} ${event.reason} clean=${event.wasClean}`);
      resolve();
    };
  });
}

await chat(`ws://127.0.0.1:${port}/`);

// Node-only extras, which browsers lack: request headers, limits, a heartbeat, ping().
const extra = new WebSocket(`ws://127.0.0.1:${port}/`, [], {
  headers: { Authorization: 'Bearer example' },
  maxPayload: 1024 * 1024,
  handshakeTimeout: 5_000,
});
extra.onopen = () => {
  extra.ping('are you there?');
  extra.close();
};
await once(extra, 'close');
console.log('extras: closed');
wss.close();
