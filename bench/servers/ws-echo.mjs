// ws 8 echo server for the benchmarks, the same program as tsws-echo.mjs on ws's server.
// Two modes, chosen by the environment as ws itself does:
//   plain:      WS_NO_BUFFER_UTIL=1 node --expose-gc bench/servers/ws-echo.mjs --port P
//   bufferutil: node --expose-gc bench/servers/ws-echo.mjs --port P   (bufferutil installed)
// See common.mjs for READY, SIGUSR2 and stopping.
import { createRequire } from 'node:module';
import { WebSocketServer } from 'ws';
import { failed, HOST, ready, serverArgs } from './common.mjs';

const require = createRequire(import.meta.url);
const version = require('ws/package.json').version;
let native = false;
if (!process.env.WS_NO_BUFFER_UTIL) {
  try {
    require('bufferutil');
    native = true;
  } catch {}
}

const { port, exitWithStdin, deflate } = serverArgs();
// tsws's level and memLevel are ws's zlibDeflateOptions; the other names are the same.
const perMessageDeflate =
  deflate === false
    ? false
    : (({ level, memLevel, ...rest }) => ({ ...rest, zlibDeflateOptions: { level, memLevel } }))(
        deflate,
      );
const wss = new WebSocketServer({ port, host: HOST, perMessageDeflate });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('error', (error) => failed('ws-echo', error));
wss.on('listening', () => {
  ready({
    name: 'ws-echo',
    port: wss.address().port,
    connections: () => wss.clients.size,
    exitWithStdin,
    note: `ws ${version}, ${native ? 'bufferutil (native masking)' : 'plain JavaScript (no bufferutil)'}${deflate ? `, permessage-deflate ${JSON.stringify(deflate)}` : ''}`,
  });
});
