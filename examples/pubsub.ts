// Topics in one process: each client subscribes to the topic named by its path, the server
// publishes to a topic, and a client's messages go to the other subscribers of its topic.
// Run: npm run build:examples && node build/examples/pubsub.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'tsws';

const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws, req) => {
  const topic = (req.url ?? '/').slice(1); // ws://host/prices -> "prices"
  ws.subscribe(topic);
  // What a client sends goes to everyone else on its topic (ws.publish leaves the sender out).
  ws.on('message', (data, isBinary) => ws.publish(topic, data as Buffer, { binary: isBinary }));
});
await once(wss, 'listening');
const { port } = wss.address() as AddressInfo;

let received = 0;
async function client(name: string, topic: string): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${topic}`);
  ws.on('message', (data) => {
    console.log(`${name} (${topic}): ${data}`);
    received++;
  });
  await once(ws, 'open');
  return ws;
}

const ada = await client('ada', 'prices');
const bob = await client('bob', 'prices');
const eve = await client('eve', 'news');
console.log(
  `subscribers: prices ${wss.numSubscribers('prices')}, news ${wss.numSubscribers('news')}`,
);

// Framed once, written once to each subscriber.
wss.publish('prices', 'ACME 42.10');
wss.publish('news', 'markets open');
ada.send('ada: buying ACME');
// Four deliveries: ada and bob get the price, eve the news, bob what ada sent.
while (received < 4) await new Promise((resolve) => setTimeout(resolve, 10));

for (const ws of [ada, bob, eve]) ws.close();
await once(eve, 'close');
wss.close();
