// The fuzzing peer's side of the wire: a hand-written opening handshake in both directions and
// an incremental reader of the frames the endpoint under test writes. Independent of src/.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as net from 'node:net';
import { decodeFrames } from './frames.js';

/** RFC 6455 §1.3. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 §4.2.2), with node:crypto's SHA-1. */
export function computeAccept(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/** A frame the endpoint under test wrote, with every header bit kept for the checks. */
export interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  /** The masking key, when masked. */
  key: Buffer | undefined;
  /** Unmasked payload. */
  payload: Buffer;
  /** The length used the minimal encoding (RFC 6455 §5.2). */
  minimalLength: boolean;
}

interface Header {
  size: number;
  payloadLength: number;
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  opcode: number;
  masked: boolean;
  key: Buffer | undefined;
  minimalLength: boolean;
}

function parseHeader(bytes: Buffer): Header | undefined {
  if (bytes.length < 2) return undefined;
  const b0 = bytes[0]!;
  const b1 = bytes[1]!;
  const masked = (b1 & 0x80) !== 0;
  let length = b1 & 0x7f;
  let size = 2;
  let minimalLength = true;
  if (length === 126) {
    if (bytes.length < 4) return undefined;
    length = bytes.readUInt16BE(2);
    minimalLength = length > 125;
    size = 4;
  } else if (length === 127) {
    if (bytes.length < 10) return undefined;
    const big = bytes.readBigUInt64BE(2);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new Error(`the endpoint wrote a frame length of ${big}`);
    }
    length = Number(big);
    minimalLength = length > 0xffff;
    size = 10;
  }
  let key: Buffer | undefined;
  if (masked) {
    if (bytes.length < size + 4) return undefined;
    key = Buffer.from(bytes.subarray(size, size + 4));
    size += 4;
  }
  return {
    size,
    payloadLength: length,
    fin: (b0 & 0x80) !== 0,
    rsv1: (b0 & 0x40) !== 0,
    rsv2: (b0 & 0x20) !== 0,
    rsv3: (b0 & 0x10) !== 0,
    opcode: b0 & 0x0f,
    masked,
    key,
    minimalLength,
  };
}

/**
 * Cuts the byte stream the endpoint writes into frames, in any split. Payloads are decoded with
 * the test helper `decodeFrames`; the header is read here too for what that helper leaves out
 * (RSV2/RSV3, the masking key, the length encoding). A frame is copied only once it is whole.
 */
export class FrameStream {
  private chunks: Buffer[] = [];
  private length = 0;

  push(chunk: Buffer): WireFrame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.length += chunk.length;
    }
    const out: WireFrame[] = [];
    for (;;) {
      const header = parseHeader(this.peek(14));
      if (header === undefined) break;
      const size = header.size + header.payloadLength;
      if (this.length < size) break;
      const all =
        this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.length);
      const { frames } = decodeFrames(all.subarray(0, size));
      const decoded = frames[0]!;
      out.push({
        fin: header.fin,
        rsv1: header.rsv1,
        rsv2: header.rsv2,
        rsv3: header.rsv3,
        opcode: header.opcode,
        masked: header.masked,
        key: header.key,
        payload: decoded.payload,
        minimalLength: header.minimalLength,
      });
      const rest = all.subarray(size);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.length = rest.length;
    }
    return out;
  }

  /** Bytes received that do not make a whole frame yet. */
  get pending(): number {
    return this.length;
  }

  private peek(n: number): Buffer {
    const first = this.chunks[0];
    if (first === undefined) return Buffer.alloc(0);
    if (first.length >= n || this.chunks.length === 1) return first.subarray(0, n);
    return Buffer.concat(this.chunks, Math.min(this.length, n)).subarray(0, n);
  }
}

/**
 * Reads an HTTP head (up to the blank line) from `socket`, then pauses the socket: the bytes
 * after the head are returned, and the caller attaches its own reader and resumes.
 */
export function readHttpHead(
  socket: net.Socket,
  timeoutMs = 20_000,
): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no complete HTTP head within ${timeoutMs} ms: ${buffered.toString()}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.pause();
      cleanup();
      resolve({
        head: buffered.subarray(0, end).toString('latin1'),
        rest: Buffer.from(buffered.subarray(end + 4)),
      });
    };
    const onEnd = () => {
      cleanup();
      reject(new Error(`the connection ended during the HTTP head: ${buffered.toString()}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
  });
}

/** The start line and the header fields (names lowercased) of an HTTP head. */
export function parseHttpHead(head: string): { startLine: string; headers: Map<string, string> } {
  const [startLine = '', ...lines] = head.split('\r\n');
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${value}` : value);
  }
  return { startLine, headers };
}

const hasToken = (value: string | undefined, token: string) =>
  (value ?? '')
    .toLowerCase()
    .split(',')
    .some((t) => t.trim() === token);

/**
 * The fuzzing client: opens TCP to a server, writes a hand-made upgrade request (and `extra`
 * bytes in the same write), and checks the 101. Returns the paused socket and the bytes that
 * came after the response head.
 */
export async function handshakeAsClient(
  port: number,
  extra?: Buffer,
): Promise<{ socket: net.Socket; rest: Buffer }> {
  const socket = net.connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  socket.setNoDelay(true);
  await once(socket, 'connect');
  const key = randomBytes(16).toString('base64');
  const request =
    'GET /conformance HTTP/1.1\r\n' +
    `Host: 127.0.0.1:${port}\r\n` +
    'Upgrade: websocket\r\n' +
    'Connection: Upgrade\r\n' +
    `Sec-WebSocket-Key: ${key}\r\n` +
    'Sec-WebSocket-Version: 13\r\n\r\n';
  const bytes = Buffer.from(request, 'latin1');
  socket.write(extra === undefined ? bytes : Buffer.concat([bytes, extra]));
  const { head, rest } = await readHttpHead(socket);
  const { startLine, headers } = parseHttpHead(head);
  const problems: string[] = [];
  if (!/^HTTP\/1\.1 101\b/.test(startLine)) problems.push(`status line "${startLine}"`);
  if (!hasToken(headers.get('upgrade'), 'websocket')) problems.push('Upgrade is not websocket');
  if (!hasToken(headers.get('connection'), 'upgrade')) problems.push('Connection lacks Upgrade');
  if (headers.get('sec-websocket-accept') !== computeAccept(key)) {
    problems.push(`Sec-WebSocket-Accept ${headers.get('sec-websocket-accept')}`);
  }
  if (problems.length > 0) {
    socket.destroy();
    throw new Error(`bad 101 from the server: ${problems.join('; ')}\n${head}`);
  }
  return { socket, rest };
}

/**
 * The fuzzing server: reads the client's upgrade request from `socket`, checks it, and answers
 * with a correct 101 (plus `extra` bytes in the same write). Returns the paused socket's
 * leftover bytes (a client sends nothing before the 101, so normally none).
 */
export async function handshakeAsServer(socket: net.Socket, extra?: Buffer): Promise<Buffer> {
  const { head, rest } = await readHttpHead(socket);
  const { startLine, headers } = parseHttpHead(head);
  const key = headers.get('sec-websocket-key') ?? '';
  const problems: string[] = [];
  if (!/^GET \S+ HTTP\/1\.1$/.test(startLine)) problems.push(`request line "${startLine}"`);
  if (!hasToken(headers.get('upgrade'), 'websocket')) problems.push('Upgrade is not websocket');
  if (!hasToken(headers.get('connection'), 'upgrade')) problems.push('Connection lacks Upgrade');
  if (headers.get('sec-websocket-version') !== '13') problems.push('Sec-WebSocket-Version');
  if (Buffer.from(key, 'base64').length !== 16) problems.push(`Sec-WebSocket-Key "${key}"`);
  if (problems.length > 0) {
    socket.destroy();
    throw new Error(`bad upgrade request from the client: ${problems.join('; ')}\n${head}`);
  }
  const response = Buffer.from(
    'HTTP/1.1 101 Switching Protocols\r\n' +
      'Upgrade: websocket\r\n' +
      'Connection: Upgrade\r\n' +
      `Sec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`,
    'latin1',
  );
  socket.write(extra === undefined ? response : Buffer.concat([response, extra]));
  return rest;
}
