// The libuv ceiling: what tsws's fast path is built on (Node's TCP handles, without net.Socket
// or streams), answering the upgrade with a correct 101 and then sending back every byte it
// receives, without parsing a frame: each read is written back as it is, no copy. No Node
// WebSocket server can beat it on this machine. For `wsload --raw-echo` and `wsload --rst`.
// See common.mjs for READY, SIGUSR2 and stopping.
import { createHash } from 'node:crypto';
import { failed, HOST, ready, serverArgs } from './common.mjs';

const { TCP, constants } = process.binding('tcp_wrap');
const { WriteWrap, streamBaseState, kReadBytesOrError, kArrayBufferOffset, kLastWriteWasAsync } =
  process.binding('stream_wrap');
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
let connections = 0;

function write(handle, buffer) {
  const req = new WriteWrap();
  req.handle = handle;
  req.oncomplete = onWritten;
  if (handle.writeBuffer(req, buffer) !== 0) handle.close();
  else if (streamBaseState[kLastWriteWasAsync]) req.buffer = buffer;
}

function onWritten() {
  this.buffer = undefined;
}

function onRead(arrayBuffer) {
  const n = streamBaseState[kReadBytesOrError];
  if (n < 0) {
    if (this.upgraded) connections--;
    this.close();
    return;
  }
  if (n === 0) return;
  const chunk = Buffer.from(arrayBuffer, streamBaseState[kArrayBufferOffset], n);
  if (this.upgraded) {
    write(this, chunk);
    return;
  }
  const head = this.head === undefined ? chunk : Buffer.concat([this.head, chunk]);
  const end = head.indexOf('\r\n\r\n');
  if (end < 0) {
    this.head = head;
    if (head.length > 8192) this.close();
    return;
  }
  const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(head.subarray(0, end).toString('latin1'));
  if (key === null) {
    this.close();
    return;
  }
  const accept = createHash('sha1')
    .update(key[1] + GUID)
    .digest('base64');
  write(
    this,
    Buffer.from(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
    ),
  );
  this.upgraded = true;
  this.head = undefined;
  connections++;
  if (end + 4 < head.length) write(this, head.subarray(end + 4));
}

const { port, exitWithStdin } = serverArgs();
const server = new TCP(constants.SERVER);
let error = server.bind(HOST, port);
if (error === 0) error = server.listen(511);
if (error !== 0) failed('uv-echo', new Error(`listen failed: ${error}`));
server.onconnection = (status, handle) => {
  if (status !== 0) return;
  handle.setNoDelay(true);
  handle.onread = onRead;
  handle.readStart();
};
const address = {};
server.getsockname(address);
ready({
  name: 'uv-echo',
  port: address.port,
  connections: () => connections,
  exitWithStdin,
  note: 'libuv TCP handles, raw echo after a 101',
});
