// Two servers sharing topics through Redis, as two processes (or two machines) would: a
// message published on either reaches the subscribers of both, in the same order.
// Needs Redis (REDIS_URL, default redis://127.0.0.1:6379) and the ioredis package.
// Run: npm run build:examples && node build/examples/pubsub-redis.js
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'tsws';
import { RedisAdapter } from 'tsws/redis';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `tsws-example:${process.pid}:`; // keys and channels of this run only

async function server(name: string): Promise<{ wss: WebSocketServer; port: number }> {
  const adapter = new RedisAdapter({ url, prefix, historyTtl: 60_000 });
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', pubsub: { adapter } });
  wss.on('connection', (ws) => {
    ws.subscribe('lobby');
    // Everyone in the lobby gets every message, the sender too, in Redis's order.
    ws.on('message', (data) => wss.publish('lobby', `${name} relays: ${data}`));
  });
  wss.on('undelivered', (report) => console.log(`${name}: undelivered (${report.reason})`));
  await Promise.all([once(wss, 'listening'), adapter.ready()]);
  return { wss, port: (wss.address() as AddressInfo).port };
}

const one = await server('server 1');
const two = await server('server 2');

const log: Record<string, string[]> = { ada: [], bob: [] };
async function member(name: string, port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
  ws.on('message', (data) => log[name]!.push(String(data)));
  await once(ws, 'open');
  return ws;
}
const ada = await member('ada', one.port);
const bob = await member('bob', two.port);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** Resolves once both members got a message containing `text`. */
async function everyoneGot(text: string): Promise<void> {
  while (!(log.ada!.some((l) => l.includes(text)) && log.bob!.some((l) => l.includes(text)))) {
    await sleep(10);
  }
}

// Each server subscribes to the lobby in Redis when its first member joins, a round trip
// later: probe until both sides hear each other, then start with empty logs.
for (let i = 0; !(log.ada!.length > 0 && log.bob!.length > 0); i++) {
  ada.send(`probe ${i}`);
  bob.send(`probe ${i}`);
  await sleep(50);
}
ada.send('ready');
await everyoneGot('ready');
log.ada = [];
log.bob = [];

ada.send('hello from ada');
await everyoneGot('hello from ada');
bob.send('hi ada, bob here');
await everyoneGot('hi ada, bob here');

for (const line of log.ada!) console.log(`ada got: ${line}`);
for (const line of log.bob!) console.log(`bob got: ${line}`);
console.log(`same order on both servers: ${JSON.stringify(log.ada) === JSON.stringify(log.bob)}`);

ada.close();
bob.close();
await Promise.all([once(ada, 'close'), once(bob, 'close')]);
await Promise.all([one.wss, two.wss].map((wss) => new Promise((resolve) => wss.close(resolve))));
