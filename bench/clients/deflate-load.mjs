#!/usr/bin/env node
// A permessage-deflate (RFC 7692) load generator that costs almost nothing per message, so that
// what is measured is the server's work (inflate, check, deflate, frame): the role wsload plays
// for uncompressed loads (wsload does not speak permessage-deflate). It is the same program for
// every server: raw sockets, no WebSocket library.
//
//   node bench/clients/deflate-load.mjs ws://127.0.0.1:PORT/ [--connections 100] [--window 16]
//        [--size 1024] [--duration 10] [--warmup 2] [--offer "permessage-deflate; ..."] [--hold]
//
// How: it offers permessage-deflate (by default as browsers do: `client_max_window_bits`), then
// sends messages from a pool of 64 different JSON texts of --size bytes, each compressed alone
// (a sender may always do that, whatever context takeover was agreed) and masked once, so that
// sending is a write of prepared bytes. Each connection keeps --window messages in flight.
// During the warm-up every echo is inflated (with the agreed window and context) and compared
// with what was sent; during the measured window echoes are only parsed (RSV1, opcode, length)
// and counted. It prints one JSON line: msgs_per_s, MiB_per_s (uncompressed payload, one
// direction), the compression ratio of each direction, latency, errors, client_cpu_pct.
//
// --hold: opens the connections, each sends one message and checks its echo, then it prints
// {"event":"ready",...} and keeps them open until its stdin ends or it gets SIGTERM (for memory
// figures).
import { createHash, randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import * as zlib from 'node:zlib';
import { jsonText } from '../lib/json-text.mjs';

const { values: opt, positionals } = parseArgs({
  options: {
    connections: { type: 'string', default: '100' },
    window: { type: 'string', default: '16' },
    size: { type: 'string', default: '1024' },
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    // "none": no offer, uncompressed messages (hold mode only: a baseline for memory figures).
    offer: { type: 'string', default: 'permessage-deflate; client_max_window_bits' },
    hold: { type: 'boolean', default: false },
  },
  allowPositionals: true,
  strict: true,
});
if (positionals.length !== 1) {
  process.stderr.write('usage: deflate-load.mjs ws://127.0.0.1:PORT/ [options]\n');
  process.exit(2);
}
const target = new URL(positionals[0]);
if (!['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) {
  process.stderr.write('deflate-load: loopback servers only\n');
  process.exit(2);
}
const CONNS = Number(opt.connections);
const WINDOW = Number(opt.window);
const SIZE = Number(opt.size);
const DURATION = Number(opt.duration);
const WARMUP = Number(opt.warmup);
const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const POOL = 64;
const PLAIN = opt.offer === 'none';
if (PLAIN && !opt.hold) {
  process.stderr.write('deflate-load: --offer none is for --hold only\n');
  process.exit(2);
}

// ---------------------------------------------------------------- messages

const texts = Array.from({ length: POOL }, (_, i) => jsonText(SIZE, i + 1));

/** One client frame: FIN, RSV1 (unless plain), text, masked with a key drawn once. */
function clientFrame(payload, rsv1 = true) {
  const key = randomBytes(4);
  const length = payload.length;
  const head = length < 126 ? 2 : length < 65536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(head + 4 + length);
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | 0x1;
  if (length < 126) frame[1] = 0x80 | length;
  else if (length < 65536) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  key.copy(frame, head);
  for (let i = 0; i < length; i++) frame[head + 4 + i] = payload[i] ^ key[i & 3];
  return frame;
}

/** The pool compressed within `bits` (each message alone) and framed, per agreed window. */
const framesByBits = new Map();
function framesFor(bits) {
  let frames = framesByBits.get(bits);
  if (frames === undefined && PLAIN) frames = texts.map((text) => clientFrame(text, false));
  if (frames === undefined) {
    frames = texts.map((text) => {
      const out = zlib.deflateRawSync(text, {
        windowBits: Math.max(bits, 9),
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
      });
      return clientFrame(out.subarray(0, out.length - 4));
    });
    framesByBits.set(bits, frames);
  }
  return frames;
}

// ---------------------------------------------------------------- connections

let errors = 0;
let firstError;
function fail(what) {
  errors++;
  firstError ??= what;
}

function agreedParams(header) {
  const params = new Map();
  for (const part of (header ?? '').split(';').slice(1)) {
    const [name, value] = part.trim().split('=');
    params.set(name, value === undefined ? true : Number(value));
  }
  if (header === undefined) return { clientBits: 15, serverBits: 15, serverTakeover: true };
  return {
    clientBits: params.get('client_max_window_bits') ?? 15,
    serverBits: params.get('server_max_window_bits') ?? 15,
    serverTakeover: !params.has('server_no_context_takeover'),
  };
}

/** Opens one connection: resolves once the 101 is read and checked. */
function connect() {
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: target.hostname.replace(/^\[|\]$/g, ''),
      port: Number(target.port),
    });
    socket.setNoDelay(true);
    const key = randomBytes(16).toString('base64');
    let head = Buffer.alloc(0);
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      socket.off('error', reject);
      const text = head.subarray(0, end).toString('latin1');
      const rest = head.subarray(end + 4);
      const accept = createHash('sha1')
        .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
        .digest('base64');
      if (!/^HTTP\/1\.1 101/.test(text) || !text.includes(accept)) {
        socket.destroy();
        reject(new Error(`bad handshake: ${text.split('\r\n')[0]}`));
        return;
      }
      const extensions = /^sec-websocket-extensions:\s*(.*)$/im.exec(text)?.[1]?.trim();
      if (PLAIN && extensions !== undefined) {
        socket.destroy();
        reject(new Error(`an extension was agreed without an offer: ${extensions}`));
        return;
      }
      if (!PLAIN && (extensions === undefined || !extensions.startsWith('permessage-deflate'))) {
        socket.destroy();
        reject(new Error(`permessage-deflate was not agreed (${extensions ?? 'no extension'})`));
        return;
      }
      resolve({ socket, rest, extensions });
    };
    socket.on('data', onData);
    socket.once('error', reject);
    socket.write(
      `GET ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n` +
        (PLAIN ? '' : `Sec-WebSocket-Extensions: ${opt.offer}\r\n`) +
        '\r\n',
    );
  });
}

/**
 * Reads the server's frames (unmasked) incrementally and calls `onMessage(payloads, rsv1,
 * opcode)` for each whole message; `keep()` says whether payload bytes are wanted.
 */
function frameReader(onMessage, keep) {
  let buffer = Buffer.alloc(0);
  let need = 0; // payload bytes of the current frame still to come
  let parts = [];
  let fin = false;
  let rsv1 = false;
  let opcode = 0;
  let messageRsv1 = false;
  let messageOpcode = 0;
  let wire = 0;
  const reader = (chunk) => {
    wire += chunk.length;
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let pos = 0;
    for (;;) {
      if (need > 0) {
        const take = Math.min(need, buffer.length - pos);
        if (take === 0) break;
        if (opcode < 8 && keep()) parts.push(buffer.subarray(pos, pos + take));
        pos += take;
        need -= take;
        if (need > 0) break;
        if (opcode < 8 && fin) finish();
        continue;
      }
      if (buffer.length - pos < 2) break;
      const b0 = buffer[pos];
      const b1 = buffer[pos + 1];
      let length = b1 & 0x7f;
      let size = 2;
      if (length === 126) size = 4;
      else if (length === 127) size = 10;
      if (buffer.length - pos < size) break;
      if (length === 126) length = buffer.readUInt16BE(pos + 2);
      else if (length === 127) length = Number(buffer.readBigUInt64BE(pos + 2));
      fin = (b0 & 0x80) !== 0;
      rsv1 = (b0 & 0x40) !== 0;
      opcode = b0 & 0x0f;
      pos += size;
      if (opcode === 1 || opcode === 2) {
        messageOpcode = opcode;
        messageRsv1 = rsv1;
      }
      need = length;
      if (length === 0 && opcode < 8 && fin) finish();
    }
    buffer = pos >= buffer.length ? Buffer.alloc(0) : buffer.subarray(pos);
  };
  function finish() {
    const payloads = parts;
    parts = [];
    onMessage(payloads, messageRsv1, messageOpcode);
  }
  reader.wire = () => wire;
  return reader;
}

/** Inflates one message with a connection's own inflater (the agreed window and context). */
function inflate(inflater, payload, takeover) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    const onData = (c) => chunks.push(c);
    inflater.on('data', onData);
    inflater.once('error', reject);
    inflater.write(Buffer.concat([payload, TAIL]));
    inflater.flush(zlib.constants.Z_SYNC_FLUSH, () => {
      inflater.off('data', onData);
      inflater.off('error', reject);
      if (!takeover) inflater.reset();
      resolve(Buffer.concat(chunks));
    });
  });
}

// ---------------------------------------------------------------- echo load

async function echoLoad() {
  const t0 = performance.now();
  const opened = [];
  for (let i = 0; i < CONNS; i += 100) {
    const batch = Math.min(100, CONNS - i);
    opened.push(...(await Promise.all(Array.from({ length: batch }, () => connect()))));
  }
  const openTime = (performance.now() - t0) / 1000;
  let phase = 'warmup';
  let count = 0;
  let bytesUp = 0;
  let wireUp = 0;
  const latencies = [];
  const conns = opened.map(({ socket, rest, extensions }, c) => {
    const agreed = agreedParams(extensions);
    const frames = framesFor(agreed.clientBits);
    const sent = new Int32Array(WINDOW);
    const times = new Float64Array(WINDOW);
    let head = 0;
    let tail = 0;
    let next = c * 7;
    const inflater = zlib.createInflateRaw({ windowBits: agreed.serverBits });
    let inflating = Promise.resolve();
    const send = () => {
      const i = next++ % POOL;
      sent[tail % WINDOW] = i;
      times[tail % WINDOW] = performance.now();
      tail++;
      if (phase === 'measure') {
        bytesUp += SIZE;
        wireUp += frames[i].length;
      }
      socket.write(frames[i]);
    };
    const reader = frameReader(
      (payloads, rsv1, opcode) => {
        const k = head++ % WINDOW;
        const i = sent[k];
        if (opcode !== 1 || !rsv1) fail(`echo with opcode ${opcode}, RSV1 ${rsv1}`);
        if (phase === 'warmup') {
          // One inflation at a time per connection, in order (they share the context).
          const payload = Buffer.concat(payloads);
          inflating = inflating.then(() =>
            inflate(inflater, payload, agreed.serverTakeover).then(
              (data) => {
                if (!data.equals(texts[i])) fail('an echo differs from what was sent');
              },
              (error) => fail(`an echo does not inflate: ${error.message}`),
            ),
          );
        } else if (phase === 'measure') {
          count++;
          latencies.push(performance.now() - times[k]);
        }
        if (phase !== 'stop') send();
      },
      () => phase === 'warmup',
    );
    socket.on('data', reader);
    socket.on('error', (error) => fail(error.message));
    socket.on('close', () => {
      if (phase !== 'stop') fail('a connection closed');
    });
    if (rest.length > 0) reader(rest);
    return { socket, reader, send, inflater, wireAtStart: 0, inflating: () => inflating };
  });
  for (const conn of conns) for (let k = 0; k < WINDOW; k++) conn.send();
  await new Promise((resolve) => setTimeout(resolve, WARMUP * 1000));
  // Every echo of the warm-up is checked before measuring (the load goes on meanwhile).
  phase = 'settle';
  await Promise.all(conns.map((conn) => conn.inflating()));
  phase = 'measure';
  for (const conn of conns) conn.wireAtStart = conn.reader.wire();
  const cpu0 = process.cpuUsage();
  const m0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, DURATION * 1000));
  const seconds = (performance.now() - m0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  phase = 'stop';
  let wireDown = 0;
  for (const conn of conns) {
    wireDown += conn.reader.wire() - conn.wireAtStart;
    conn.socket.destroy();
    conn.inflater.close();
  }
  latencies.sort((a, b) => a - b);
  const pct = (p) =>
    latencies.length === 0
      ? 0
      : latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] * 1000;
  const result = {
    mode: 'deflate-echo',
    tool: 'deflate-load',
    url: target.href,
    conns: CONNS,
    window: WINDOW,
    size: SIZE,
    extensions: opened[0]?.extensions,
    open_time_s: Math.round(openTime * 100) / 100,
    duration_s: Math.round(seconds * 100) / 100,
    msgs: count,
    msgs_per_s: Math.round(count / seconds),
    MiB_per_s: Math.round(((count * SIZE) / seconds / 1048576) * 10) / 10,
    // Wire bytes over payload bytes: up counts what we sent, down what the server sent back.
    ratio_up: bytesUp > 0 ? Math.round((wireUp / bytesUp) * 1000) / 1000 : null,
    ratio_down: count > 0 ? Math.round((wireDown / (count * SIZE)) * 1000) / 1000 : null,
    lat_p50_us: Math.round(pct(0.5)),
    lat_p99_us: Math.round(pct(0.99)),
    errors,
    first_error: firstError,
    client_cpu_pct: Math.round(((cpu.user + cpu.system) / 1e4 / seconds) * 10) / 10,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(errors > 0 ? 1 : 0);
}

// ---------------------------------------------------------------- hold (memory figures)

async function hold() {
  const t0 = performance.now();
  const sockets = [];
  let extensions;
  for (let i = 0; i < CONNS; i += 100) {
    const batch = Math.min(100, CONNS - i);
    await Promise.all(
      Array.from({ length: batch }, async (_, b) => {
        const { socket, rest, extensions: agreed } = await connect();
        extensions ??= agreed;
        sockets.push(socket);
        const { clientBits, serverBits } = agreedParams(agreed);
        const i = (sockets.length + b) % POOL;
        await new Promise((resolve) => {
          const reader = frameReader(
            (payloads, rsv1) => {
              // The first message of the server's stream needs no earlier context.
              const payload = Buffer.concat(payloads);
              const data = rsv1
                ? zlib.inflateRawSync(Buffer.concat([payload, TAIL]), {
                    windowBits: serverBits,
                    finishFlush: zlib.constants.Z_SYNC_FLUSH,
                  })
                : payload;
              if (rsv1 === PLAIN) fail(`the echo ${PLAIN ? 'was' : 'was not'} compressed`);
              if (!data.equals(texts[i])) fail('an echo differs from what was sent');
              socket.off('data', reader);
              resolve();
            },
            () => true,
          );
          socket.on('data', reader);
          socket.on('error', (error) => fail(error.message));
          if (rest.length > 0) reader(rest);
          socket.write(framesFor(clientBits)[i]);
        });
      }),
    );
  }
  const ready = {
    event: 'ready',
    open: sockets.length,
    errors,
    first_error: firstError,
    extensions,
    open_time_s: Math.round(((performance.now() - t0) / 1000) * 100) / 100,
  };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
  const exit = () => process.exit(0);
  process.on('SIGTERM', exit);
  process.stdin.on('end', exit);
  process.stdin.on('error', exit);
  process.stdin.resume();
}

(opt.hold ? hold() : echoLoad()).catch((error) => {
  fail(error.message);
  process.stdout.write(`${JSON.stringify({ errors, first_error: firstError })}\n`);
  process.exit(1);
});
