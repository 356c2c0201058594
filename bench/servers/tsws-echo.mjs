// tsws echo server for the benchmarks: a WebSocketServer on 127.0.0.1 that sends every message
// back with its type. Heartbeat off, to compare with ws (which has none). --mode picks the
// server mode measured:
//   standalone      (default) { port }: the fast path, plain HTTP requests get 426
//   handle-request  { port, handleRequest }: the same port also serves plain HTTP
//   serve           the server of `tsws serve` with its defaults (demo page on the port, and
//                   the heartbeat on: 30 s, as it runs)
//   attached        { server }: attached to an http.Server (net.Socket connections)
// See common.mjs for READY, SIGUSR2 and stopping. Build first: `npm run build`.
import * as http from 'node:http';
import { WebSocketServer } from '../../dist/index.js';
import { failed, HOST, ready, serverArgs } from './common.mjs';

const { port, exitWithStdin, deflate, mode } = serverArgs();
const settings = { heartbeat: false, perMessageDeflate: deflate };
const page = (_req, res) => res.end('a page\n');
const echo = (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));

let wss;
if (mode === 'serve') {
  const { startEchoServer } = await import('../../dist/cli/serve.js');
  const server = await startEchoServer({
    port,
    host: HOST,
    settings: { perMessageDeflate: deflate },
  });
  wss = server.wss;
  announce();
} else if (mode === 'attached') {
  const server = http.createServer(page);
  wss = new WebSocketServer({ ...settings, server });
  wss.on('connection', echo);
  server.listen(port, HOST, announce);
} else if (mode === 'standalone' || mode === 'handle-request') {
  const handleRequest = mode === 'handle-request' ? page : undefined;
  wss = new WebSocketServer({ ...settings, port, host: HOST, handleRequest });
  wss.on('connection', echo);
  wss.on('listening', announce);
} else {
  failed('tsws-echo', new Error(`unknown --mode ${mode}`));
}
wss.on('error', (error) => failed('tsws-echo', error));

function announce() {
  ready({
    name: 'tsws-echo',
    port: wss.address().port,
    connections: () => wss.clients.size,
    exitWithStdin,
    note: `tsws (dist/index.js), ${mode}, heartbeat off${deflate ? `, permessage-deflate ${JSON.stringify(deflate)}` : ''}`,
  });
}
