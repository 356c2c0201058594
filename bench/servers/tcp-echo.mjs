// The raw Node.js ceiling: a `net` server that answers the WebSocket upgrade with a correct
// 101 (Sec-WebSocket-Accept = base64(SHA-1(key + GUID)), RFC 6455 §4.2.2) and then sends back
// every byte it receives, without parsing a frame. What a WebSocket server on Node's stream
// layer cannot beat on this machine. For `wsload --raw-echo` (echo) and `wsload --rst`
// (handshake rate: it would echo a Close frame back rather than answer it).
// See common.mjs for READY, SIGUSR2 and stopping.
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { failed, HOST, ready, serverArgs } from './common.mjs';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const MAX_HEADER = 8192;
let connections = 0;

function accept(key) {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

function onConnection(socket) {
  socket.setNoDelay(true);
  socket.on('error', () => socket.destroy());
  let head = Buffer.alloc(0);
  const onHandshakeData = (chunk) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) {
      if (head.length > MAX_HEADER) socket.destroy();
      return;
    }
    socket.off('data', onHandshakeData);
    const lines = head.subarray(0, end).toString('latin1').split('\r\n');
    let key;
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'sec-websocket-key') {
        key = line.slice(colon + 1).trim();
      }
    }
    if (!lines[0]?.startsWith('GET ') || key === undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept(key)}\r\n\r\n`,
    );
    connections++;
    socket.once('close', () => connections--);
    socket.on('data', echo);
    socket.on('drain', () => socket.resume());
    socket.on('end', () => socket.end());
    const rest = head.subarray(end + 4);
    head = undefined;
    if (rest.length > 0) echo.call(socket, rest);
  };
  socket.on('data', onHandshakeData);
}

/** The whole "server": write back what came, pause while the socket is full. */
function echo(chunk) {
  if (!this.write(chunk)) this.pause();
}

const { port, exitWithStdin } = serverArgs();
const server = net.createServer(onConnection);
server.on('error', (error) => failed('tcp-echo', error));
server.listen(port, HOST, 1024, () => {
  ready({
    name: 'tcp-echo',
    port: server.address().port,
    connections: () => connections,
    exitWithStdin,
    note: 'raw net echo after a 101 (the ceiling)',
  });
});
