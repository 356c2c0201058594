// tsws echo server for the benchmarks: a standalone WebSocketServer on 127.0.0.1 that sends
// every message back with its type. Heartbeat off, to compare with ws (which has none).
// See common.mjs for READY, SIGUSR2 and stopping. Build first: `npm run build`.
import { WebSocketServer } from '../../dist/index.js';
import { failed, HOST, ready, serverArgs } from './common.mjs';

const { port, exitWithStdin, deflate } = serverArgs();
const wss = new WebSocketServer({ port, host: HOST, heartbeat: false, perMessageDeflate: deflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('error', (error) => failed('tsws-echo', error));
wss.on('listening', () => {
  ready({
    name: 'tsws-echo',
    port: wss.address().port,
    connections: () => wss.clients.size,
    exitWithStdin,
    note: `tsws (dist/index.js), heartbeat off${deflate ? `, permessage-deflate ${JSON.stringify(deflate)}` : ''}`,
  });
});
