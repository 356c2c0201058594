// Autobahn-style compression cases (categories 12 and 13) run against both roles of tsws, with
// raw peers from deflate-wire.ts: a fuzzing client that writes its own offer and frames to a
// tsws server, and a fuzzing server that writes its own 101 answer and frames to a tsws client.
// The peer compresses with its own zlib within the agreed parameters, and inflates what the
// endpoint sends strictly with the agreed window and context mode, so an endpoint that keeps a
// context it agreed to drop, or uses a larger window than agreed, fails the case.
import { once } from 'node:events';
import * as zlib from 'node:zlib';
import {
  type ClientOptions,
  type PerMessageDeflateOptions,
  type ServerOptions,
  WebSocket,
} from '../../src/index.js';
import {
  type Answer,
  dialRaw,
  type EchoServer,
  Inbox,
  listenRaw,
  PeerZlib,
  prng,
  type RawPeer,
  startDeflateServer,
  TAIL,
  within,
} from './deflate-wire.js';
import { encodeFrame } from './frames.js';

export type Role = 'server' | 'client';
export const ROLES: readonly Role[] = ['server', 'client'];

/** What both ends agreed, read from the 101's Sec-WebSocket-Extensions by the test itself. */
export interface Agreed {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/**
 * Reads a permessage-deflate response (one element; RFC 7692 §7): undefined when there is
 * none. Independent of src/ on purpose: a second reading of the RFC.
 */
export function parseAgreed(header: string | undefined): Agreed | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const [name, ...params] = header.split(';').map((s) => s.trim());
  if (name !== 'permessage-deflate') throw new Error(`unexpected extension ${header}`);
  const agreed: Agreed = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: 15,
    clientMaxWindowBits: 15,
  };
  for (const param of params) {
    const [key, raw] = param.split('=').map((s) => s.trim());
    const value = raw === undefined ? undefined : Number(raw.replace(/^"|"$/g, ''));
    if (key === 'server_no_context_takeover') agreed.serverNoContextTakeover = true;
    else if (key === 'client_no_context_takeover') agreed.clientNoContextTakeover = true;
    else if (key === 'server_max_window_bits') agreed.serverMaxWindowBits = value!;
    else if (key === 'client_max_window_bits') agreed.clientMaxWindowBits = value!;
    else throw new Error(`unexpected parameter ${param} in ${header}`);
  }
  return agreed;
}

/** The parameters of a response as a sorted list, to compare without caring for their order. */
export function paramSet(header: string | undefined): string[] {
  if (header === undefined || header.trim() === '') return [];
  return header
    .split(';')
    .slice(1)
    .map((s) => s.trim().replace(/\s*=\s*/, '='))
    .sort();
}

/**
 * One connection between a raw peer and a tsws endpoint that echoes every message, with the
 * peer's zlib for each direction set up from what was agreed.
 */
export interface Link {
  role: Role;
  peer: RawPeer;
  /** The endpoint under test (the server's side of it, or the client). */
  endpoint: WebSocket;
  inbox: Inbox;
  agreed: Agreed | undefined;
  /** The 101's Sec-WebSocket-Extensions (server role) or the client's offer (client role). */
  header: string | undefined;
  /** Compresses what the peer sends (undefined: nothing agreed). */
  sender: PeerZlib | undefined;
  /** Inflates what the endpoint sends, strictly. */
  receiver: PeerZlib | undefined;
  close(): Promise<void>;
}

/** The endpoint's settings in these cases: compress every message (threshold 0). */
export const ENDPOINT_DEFLATE: PerMessageDeflateOptions = { threshold: 0 };

function zlibs(role: Role, agreed: Agreed | undefined): [PeerZlib?, PeerZlib?] {
  if (agreed === undefined) return [];
  const server = new PeerZlib(agreed.serverMaxWindowBits, !agreed.serverNoContextTakeover);
  const client = new PeerZlib(agreed.clientMaxWindowBits, !agreed.clientNoContextTakeover);
  // The endpoint is a server: the peer sends as the client does, and receives the server's.
  return role === 'server' ? [client, server] : [server, client];
}

/** Our server, the peer a fuzzing client writing `offer` (none when undefined). */
export async function openServerRole(
  offer: string | undefined,
  options: Partial<ServerOptions> = {},
  server?: EchoServer,
): Promise<Link> {
  const own = server === undefined;
  const srv =
    server ??
    (await startDeflateServer({
      maxPayload: 0,
      perMessageDeflate: ENDPOINT_DEFLATE,
      ...options,
    }));
  const connected = new Promise<WebSocket>((resolve) => srv.wss.once('connection', resolve));
  const upgrade = await dialRaw(srv.port, offer);
  if (upgrade.status !== 101) throw new Error(`status ${upgrade.status}`);
  const endpoint = await within(connected, 'the server-side connection');
  const agreed = parseAgreed(upgrade.extensions);
  const [sender, receiver] = zlibs('server', agreed);
  return {
    role: 'server',
    peer: upgrade.peer,
    endpoint,
    inbox: new Inbox(endpoint),
    agreed,
    header: upgrade.extensions,
    sender,
    receiver,
    async close() {
      sender?.close();
      receiver?.close();
      upgrade.peer.destroy();
      if (own) await srv.close();
    },
  };
}

/** Our client (echoing), the peer a fuzzing server answering with `answer`. */
export async function openClientRole(
  answer: string | undefined | Answer,
  options: ClientOptions = {},
): Promise<Link> {
  const fuzz = await listenRaw();
  let answered: string | undefined;
  const accepted = fuzz.accept((request) => {
    const reply = typeof answer === 'function' ? answer(request) : { extensions: answer };
    answered = reply.extensions;
    return reply;
  });
  const endpoint = new WebSocket(fuzz.url, {
    heartbeat: false,
    closeTimeout: 2000,
    maxPayload: 0,
    perMessageDeflate: ENDPOINT_DEFLATE,
    ...options,
  });
  const inbox = new Inbox(endpoint);
  endpoint.on('message', (data, isBinary) => endpoint.send(data as Buffer, { binary: isBinary }));
  const { request, peer } = await accepted;
  await within(once(endpoint, 'open'), 'the client to open');
  // What the peer answered, read by the test (the endpoint's own reading is checked apart).
  const agreed = parseAgreed(answered);
  const [sender, receiver] = zlibs('client', agreed);
  return {
    role: 'client',
    peer,
    endpoint,
    inbox,
    agreed,
    header: request.get('sec-websocket-extensions'),
    sender,
    receiver,
    async close() {
      sender?.close();
      receiver?.close();
      endpoint.terminate();
      peer.destroy();
      fuzz.close();
    },
  };
}

/** Opens `role`'s link: the server with `offer`, or the client answered with `answer`. */
export function openLink(
  role: Role,
  offer: string | undefined,
  answer: string | undefined,
  options: { server?: Partial<ServerOptions>; client?: ClientOptions } = {},
): Promise<Link> {
  return role === 'server'
    ? openServerRole(offer, options.server)
    : openClientRole(answer, options.client);
}

/** A message the peer sends, and expects back. */
export interface EchoMessage {
  data: Buffer;
  binary: boolean;
  /** Cut the compressed payload into frames of this many bytes (Autobahn's auto-fragment). */
  fragment?: number;
  /** Send it uncompressed (a choice per message, RFC 7692 §6). */
  plain?: boolean;
  /** A ping between its first and second frame (control frames may interleave, RFC 6455 §5.4). */
  pingInside?: boolean;
}

/**
 * The frames of one message as the peer writes them (masked when the peer is a client), and
 * whether a ping went inside (only when there are two frames or more).
 */
export async function framesOf(link: Link, m: EchoMessage): Promise<[Buffer[], boolean]> {
  const compressed = link.sender !== undefined && m.plain !== true;
  const payload = compressed ? await link.sender!.deflate(m.data) : m.data;
  const step = m.fragment ?? Math.max(payload.length, 1);
  const mask = link.role === 'server';
  const out: Buffer[] = [];
  let pinged = false;
  for (let at = 0, first = true; first || at < payload.length; at += step, first = false) {
    const fin = at + step >= payload.length;
    out.push(
      encodeFrame({
        opcode: first ? (m.binary ? 0x2 : 0x1) : 0x0,
        payload: payload.subarray(at, at + step),
        rsv1: first && compressed,
        fin,
        mask,
      }),
    );
    if (first && !fin && m.pingInside === true) {
      out.push(encodeFrame({ opcode: 0x9, payload: 'inside', mask }));
      pinged = true;
    }
  }
  return [out, pinged];
}

/**
 * Sends `messages` (all at once, in order) and checks their echoes: same type and bytes, in
 * order, RSV1 on the first frame only (and set: the endpoint compresses everything when
 * compression was agreed), inflated with exactly the agreed window and context mode, and a
 * pong for every ping sent inside a message.
 */
export async function echo(link: Link, messages: EchoMessage[], ms = 20_000): Promise<void> {
  const bytes: Buffer[] = [];
  let pings = 0;
  for (const m of messages) {
    const [frames, pinged] = await framesOf(link, m);
    bytes.push(...frames);
    if (pinged) pings++;
  }
  link.peer.write(Buffer.concat(bytes));
  let pongs = 0;
  for (const [i, m] of messages.entries()) {
    const got = await link.peer.nextMessage(ms);
    const what = `message #${i} (${m.data.length} B ${m.binary ? 'binary' : 'text'})`;
    for (const c of got.controls) {
      if (c.opcode !== 0xa || c.payload.toString() !== 'inside') {
        throw new Error(`${what}: unexpected control frame ${c.opcode}`);
      }
      if (c.rsv1 || c.rsv2 || c.rsv3) throw new Error(`${what}: a control frame with an RSV bit`);
      pongs++;
    }
    if (got.opcode !== (m.binary ? 0x2 : 0x1)) throw new Error(`${what}: opcode ${got.opcode}`);
    for (const [k, f] of got.frames.entries()) {
      if (f.rsv2 || f.rsv3 || (k > 0 && f.rsv1)) throw new Error(`${what}: RSV bits on frame ${k}`);
    }
    if (got.rsv1 !== (link.receiver !== undefined)) {
      throw new Error(`${what}: RSV1 ${got.rsv1}, compression ${link.agreed ? 'on' : 'off'}`);
    }
    let data: Buffer;
    try {
      data = got.rsv1 ? await link.receiver!.inflate(got.payload) : got.payload;
    } catch (error) {
      throw new Error(`${what}: the endpoint's compressed data breaks the agreement: ${error}`);
    }
    if (!data.equals(m.data)) throw new Error(`${what}: the echo differs`);
  }
  // Each pong comes ahead of the echo of the message its ping was inside.
  if (pongs !== pings) throw new Error(`${pongs} pongs for ${pings} pings`);
  if (link.peer.problems.length > 0) throw new Error(link.peer.problems.join('; '));
}

/** Ends the link with a clean closing handshake started by the peer; returns the endpoint's code. */
export async function finish(link: Link): Promise<number | null> {
  link.peer.send({ opcode: 0x8, payload: Buffer.from([0x03, 0xe8]) });
  const code = await link.peer.closeCode();
  // A server closes TCP once the closing handshake is over (RFC 6455 §7.1.1).
  if (link.role === 'client') link.peer.socket.end();
  await link.inbox.close();
  return code;
}

// ---------------------------------------------------------------- payloads like Autobahn's

/** Autobahn 12.x/13.x: (payload length, auto-fragment size of the compressed payload). */
export const MSG_SIZES: readonly [number, number][] = [
  [16, 0],
  [64, 0],
  [256, 0],
  [1024, 0],
  [4096, 0],
  [8192, 0],
  [16384, 0],
  [32768, 0],
  [65536, 0],
  [131072, 0],
  [8192, 256],
  [16384, 256],
  [32768, 256],
  [65536, 256],
  [131072, 256],
  [131072, 1024],
  [131072, 4096],
  [131072, 32768],
];

/** Messages per Autobahn size (it sends 1,000 each; a few cover the same code paths here). */
export function countFor(size: number): number {
  return size <= 16384 ? 6 : 2;
}

const PROSE = (
  'Habe nun, ach! Philosophie, Juristerei und Medizin, und leider auch Theologie durchaus ' +
  'studiert, mit heißem Bemühn. Da steh ich nun, ich armer Tor! Und bin so klug als wie ' +
  'zuvor; heiße Magister, heiße Doktor gar, und ziehe schon an die zehen Jahr herauf, herab ' +
  'und quer und krumm meine Schüler an der Nase herum und sehe, daß wir nichts wissen können!'
).split(' ');

/** Human-readable text of exactly `size` bytes (UTF-8, cut at a character boundary). */
export function prose(size: number, seed: number): Buffer {
  const random = prng(seed);
  const parts: string[] = [];
  let length = 0;
  while (length < size + 8) {
    const line: string[] = [];
    for (let i = 0, n = 4 + ((random() * 10) | 0); i < n; i++) {
      line.push(PROSE[(random() * PROSE.length) | 0]!);
    }
    const text = `${line.join(' ')}\n`;
    parts.push(text);
    length += Buffer.byteLength(text);
  }
  return cutUtf8(Buffer.from(parts.join('')), size);
}

/** HTML-like text of exactly `size` bytes. */
export function html(size: number, seed: number): Buffer {
  const random = prng(seed);
  const parts: string[] = ['<!DOCTYPE html><html><body><table>\n'];
  let length = parts[0]!.length;
  for (let row = 0; length < size + 8; row++) {
    const cells = Array.from(
      { length: 3 },
      (_, i) => `<td class="c${i}">${PROSE[(random() * PROSE.length) | 0]}</td>`,
    ).join('');
    const line = `<tr id="r${row}" data-v="${(random() * 1e6) | 0}">${cells}</tr>\n`;
    parts.push(line);
    length += Buffer.byteLength(line);
  }
  return cutUtf8(Buffer.from(parts.join('')), size);
}

/** A "PDF": text headers around mostly incompressible (already compressed) streams. */
export function pdfLike(size: number, seed: number): Buffer {
  const random = prng(seed);
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; ) {
    const header = Buffer.from(`\n${(i / 97) | 0} 0 obj << /Filter /FlateDecode >> stream\n`);
    const n = header.copy(out, i);
    i += n;
    const run = Math.min(size - i, 300 + ((random() * 3000) | 0));
    for (let k = 0; k < run; k++) out[i + k] = (random() * 256) | 0;
    i += run;
  }
  return out;
}

function cutUtf8(bytes: Buffer, size: number): Buffer {
  let end = size;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return Buffer.concat([bytes.subarray(0, end), Buffer.alloc(size - end, 0x20)]);
}

/** Inflates a payload with the tail appended, with zlib directly (for checks). */
export function inflateRaw(payload: Buffer, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, TAIL]), {
    windowBits,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
}
