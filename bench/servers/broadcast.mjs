// Broadcast server for bench/pubsub.mjs: every connection gets every message, sent by one of
//   --impl tsws        server.publish to a topic every connection subscribed to (framed once)
//   --impl tsws-loop   tsws, looping over wss.clients with ws.send (framed per connection)
//   --impl ws          ws 8, looping over wss.clients with ws.send (what ws users write)
//   --impl floor       no WebSocket library: a net server answering the handshake with a
//                      canned 101, then one prebuilt frame written to every socket in a loop
//                      (the floor a Node program can reach: one write per subscriber)
//   --impl floor-uv    the same on Node's raw libuv TCP handles (what tsws's fast path writes
//                      on: no net.Socket, no stream): one writeBuffer per subscriber
// --coalesce DELAY/N   (tsws) the pubsub.coalesce option: DELAY microseconds, N messages
// --ack                (tsws, floor-uv) answer a text frame `t` from a connection with the
//                      server's monotonic time (`performance.timeOrigin + now()`, for latency)
// --stamp              every message's first 8 bytes are process.hrtime.bigint() at its publish
//                      (the sink reads them for latency)
// Standard input, one command a line: `publish N [SPREAD]` sends N messages (each to every
// connection): SPREAD `tick` (default) back to back in one loop, `ticks` each in its own
// process.nextTick (as publishes made by separate incoming messages of one event-loop turn),
// `turns` each in its own setImmediate; then prints `PUBLISHED <loop ms> <handed ms>`: the time
// until the last publish returned, and until the turn after it (every write handed to the
// kernel, the writes tsws makes on process.nextTick included; not a coalescing window's).
// `cpu` prints `CPU <µs>`, the process's CPU time so far. Prints `READY <port>` once
// listening; exits when its standard input ends.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import * as net from 'node:net';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    impl: { type: 'string', default: 'tsws' },
    port: { type: 'string', default: '0' },
    size: { type: 'string', default: '64' },
    coalesce: { type: 'string' },
    stamp: { type: 'boolean', default: false },
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
  broadcast = (data) => {
    for (const client of wss.clients) if (client.readyState === 1) client.send(data);
  };
} else if (values.impl === 'tsws' || values.impl === 'tsws-loop') {
  const { WebSocketServer } = await import('../../dist/index.js');
  version = 'tsws';
  const [delay, messages] = (values.coalesce ?? '').split('/').map(Number);
  const coalesce =
    values.coalesce === undefined ? undefined : { delay, messages: messages || undefined };
  if (coalesce !== undefined) version += ` coalesce ${JSON.stringify(coalesce)}`;
  wss = new WebSocketServer({
    port: Number(values.port),
    host: HOST,
    heartbeat: false,
    pubsub: { coalesce },
  });
  if (values.impl === 'tsws') {
    wss.on('connection', (ws) => ws.subscribe('bench'));
    broadcast = (data) => wss.publish('bench', data);
  } else {
    broadcast = (data) => {
      for (const client of wss.clients) if (client.readyState === 1) client.send(data);
    };
  }
} else if (values.impl === 'floor') {
  version = `node ${process.version} net`;
  wss = floorServer(Number(values.port));
  // RFC 6455 §5.2: FIN + binary, the length, no mask (server to client); built once.
  const prebuilt = Buffer.concat([frameHeader(size), payload]);
  broadcast = (data) => {
    const frame = data === payload ? prebuilt : Buffer.concat([frameHeader(size), data]);
    for (const socket of wss.clients) socket.write(frame);
  };
} else if (values.impl === 'floor-uv') {
  version = `node ${process.version} libuv TCP handles`;
  wss = floorUvServer(Number(values.port));
  const prebuilt = Buffer.concat([frameHeader(size), payload]);
  broadcast = (data) => {
    const frame = data === payload ? prebuilt : Buffer.concat([frameHeader(size), data]);
    for (const handle of wss.clients) wss.write(handle, frame);
  };
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

/** The next message: the shared payload, or a copy stamped with the time of its publish. */
function message() {
  if (!values.stamp) return payload;
  const data = Buffer.from(payload);
  data.writeBigUInt64BE(process.hrtime.bigint(), 0);
  return data;
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const [command, arg] = line.trim().split(' ');
  if (command === 'publish') {
    const n = Number(arg);
    const spread = line.trim().split(' ')[2] ?? 'tick';
    const start = performance.now();
    const report = () => {
      const loop = performance.now() - start;
      setImmediate(() => {
        const handed = performance.now() - start;
        process.stdout.write(`PUBLISHED ${loop.toFixed(3)} ${handed.toFixed(3)}\n`);
      });
    };
    if (spread === 'tick') {
      for (let i = 0; i < n; i++) broadcast(message());
      report();
    } else {
      const defer = spread === 'ticks' ? process.nextTick : setImmediate;
      let i = 0;
      const step = () => {
        broadcast(message());
        if (++i < n) defer(step);
        else report();
      };
      step();
    }
  } else if (command === 'cpu') {
    const { user, system } = process.cpuUsage();
    process.stdout.write(`CPU ${user + system}\n`);
  } else if (command === 'count') {
    process.stdout.write(`COUNT ${wss.clients.size}\n`);
  }
});
lines.on('close', () => process.exit(0));

// RFC 6455 §5.2: FIN + binary, the length, no mask (server to client).
function frameHeader(n) {
  if (n <= 125) return Buffer.from([0x82, n]);
  if (n <= 0xffff) return Buffer.from([0x82, 126, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([0x82, 127]), bigLength(n)]);
}

function bigLength(n) {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

/**
 * The floor's server: reads a request head, answers 101 with the accept key (RFC 6455 §4.2.2),
 * keeps the socket. Nothing is parsed beyond the key: the sink is ours and well-behaved.
 */
function floorServer(port) {
  const clients = new Set();
  const server = net.createServer({ noDelay: true }, (socket) => {
    let head = '';
    const onData = (chunk) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      const key = /\r\nsec-websocket-key:\s*([^\r]+)/i.exec(head)?.[1]?.trim() ?? '';
      const accept = createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      clients.add(socket);
      socket.on('data', () => {}); // the sink sends nothing more; keep reading for FIN
    };
    socket.on('data', onData);
    socket.on('close', () => clients.delete(socket));
    socket.on('error', () => {});
  });
  server.listen(port, HOST);
  // The same surface as a WebSocketServer for the code above.
  server.clients = clients;
  return server;
}

/**
 * The floor on libuv's TCP handles (as bench/servers/uv-echo.mjs): a canned 101, then each
 * write one WriteWrap and one writeBuffer, the buffer kept alive only when libuv queued it.
 * Exposes `clients` (the upgraded handles), `write`, `address()` and the events used above.
 */
function floorUvServer(port) {
  const { TCP, constants } = process.binding('tcp_wrap');
  const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } =
    process.binding('stream_wrap');
  const clients = new Set();
  const onWritten = function () {
    this.buffer = undefined;
  };
  const write = (handle, buffer) => {
    const req = new WriteWrap();
    req.handle = handle;
    req.oncomplete = onWritten;
    if (handle.writeBuffer(req, buffer) !== 0) {
      clients.delete(handle);
      handle.close();
    } else if (streamBaseState[kLastWriteWasAsync]) req.buffer = buffer;
  };
  function onRead(arrayBuffer) {
    const n = streamBaseState[kReadBytesOrError];
    if (n < 0) {
      clients.delete(this);
      this.close();
      return;
    }
    if (n === 0 || this.upgraded) return;
    this.head += Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], n).toString(
      'latin1',
    );
    if (!this.head.includes('\r\n\r\n')) return;
    const key = /\r\nsec-websocket-key:\s*([^\r]+)/i.exec(this.head)?.[1]?.trim() ?? '';
    const accept = createHash('sha1')
      .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    write(
      this,
      Buffer.from(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
      ),
    );
    this.upgraded = true;
    clients.add(this);
  }
  const server = new TCP(constants.SERVER);
  let error = server.bind(HOST, port);
  if (error === 0) error = server.listen(511);
  server.onconnection = (status, handle) => {
    if (status !== 0) return;
    handle.setNoDelay(true);
    handle.head = '';
    handle.upgraded = false;
    handle.onread = onRead;
    handle.readStart();
  };
  const listeners = { listening: [], error: [] };
  const address = {};
  server.getsockname(address);
  setImmediate(() => {
    if (error !== 0) for (const l of listeners.error) l(new Error(`listen failed: ${error}`));
    else for (const l of listeners.listening) l();
  });
  return {
    clients,
    write,
    address: () => address,
    on: (event, listener) => listeners[event].push(listener),
  };
}
