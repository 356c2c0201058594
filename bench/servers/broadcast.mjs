// Broadcast server for bench/pubsub.mjs: every connection gets every message, sent by one of
//   --impl tsws        server.publish to a topic every connection subscribed to (framed once)
//   --impl tsws-loop   tsws, looping over wss.clients with ws.send (framed per connection)
//   --impl ws          ws 8, looping over wss.clients with ws.send (what ws users write)
// Standard input, one command a line: `publish N` sends N messages (each to every connection)
// back to back, then prints `PUBLISHED <loop ms> <handed ms>`: the time spent in the loop, and
// the time until every write was handed to the kernel (the next turn of the event loop, after
// the writes that tsws makes on process.nextTick). Prints `READY <port>` once listening;
// exits when its standard input ends.
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'tsws' },
    port: { type: 'string', default: '0' },
    size: { type: 'string', default: '64' },
  },
});
const HOST = '127.0.0.1';
const size = Number(values.size);
const payload = Buffer.alloc(size, 0x61);
let wss;
let broadcast;
let version;

if (values.impl === 'ws') {
  const { WebSocketServer } = await import('ws');
  version = `ws ${createRequire(import.meta.url)('ws/package.json').version}`;
  wss = new WebSocketServer({ port: Number(values.port), host: HOST });
  broadcast = () => {
    for (const client of wss.clients) if (client.readyState === 1) client.send(payload);
  };
} else if (values.impl === 'tsws' || values.impl === 'tsws-loop') {
  const { WebSocketServer } = await import('../../dist/index.js');
  version = 'tsws';
  wss = new WebSocketServer({ port: Number(values.port), host: HOST, heartbeat: false });
  if (values.impl === 'tsws') {
    wss.on('connection', (ws) => ws.subscribe('bench'));
    broadcast = () => wss.publish('bench', payload);
  } else {
    broadcast = () => {
      for (const client of wss.clients) if (client.readyState === 1) client.send(payload);
    };
  }
} else {
  process.stderr.write(`unknown --impl ${values.impl}\n`);
  process.exit(2);
}

wss.on('listening', () => {
  process.stderr.write(`broadcast: ${values.impl} (${version}), ${size}-byte messages\n`);
  process.stdout.write(`READY ${wss.address().port}\n`);
});
wss.on('error', (error) => {
  process.stderr.write(`broadcast: ${error.message}\n`);
  process.exit(1);
});

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, arg] = line.trim().split(' ');
  if (command === 'publish') {
    const start = performance.now();
    for (let i = 0; i < Number(arg); i++) broadcast();
    const loop = performance.now() - start;
    setImmediate(() => {
      const handed = performance.now() - start;
      process.stdout.write(`PUBLISHED ${loop.toFixed(3)} ${handed.toFixed(3)}\n`);
    });
  } else if (command === 'count') {
    process.stdout.write(`COUNT ${wss.clients.size}\n`);
  }
});
lines.on('close', () => process.exit(0));
