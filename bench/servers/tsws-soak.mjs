// tsws server for the soak test (bench/soak.mjs): a standalone WebSocketServer on 127.0.0.1 that
// echoes every message, with the settings of a production server rather than a benchmark's:
// the article's fast heartbeat (a ping every 5 s), a backpressure limit, and a close timeout.
// TSWS_NO_FAST_PATH=1 runs it on the http path. See common.mjs for READY, SIGUSR2 and stopping.
import { FAST_HEARTBEAT, WebSocketServer } from '../../dist/index.js';
import { failed, HOST, ready, serverArgs } from './common.mjs';

const { port, exitWithStdin } = serverArgs();
const wss = new WebSocketServer({
  port,
  host: HOST,
  heartbeat: FAST_HEARTBEAT,
  maxBackpressure: 1024 * 1024,
  closeTimeout: 5000,
});
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('error', (error) => failed('tsws-soak', error));
wss.on('listening', () => {
  ready({
    name: 'tsws-soak',
    port: wss.address().port,
    connections: () => wss.clients.size,
    exitWithStdin,
    note: `tsws (dist/index.js), heartbeat 5 s, ${process.env.TSWS_NO_FAST_PATH ? 'http path' : 'fast path'}`,
  });
});
