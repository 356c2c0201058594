import type { IncomingMessage } from 'node:http';
import type { PubSubOptions, WebSocket, WebSocketServer } from '../node/index.js';
import { CloseCode } from '../protocol/index.js';
import { isSeq } from '../pubsub/index.js';
import { UsageFault } from './usage-fault.js';

/** Where rooms are: `/chat/ROOM`. */
export const CHAT_PREFIX = '/chat/';

/**
 * The chat's memory bounds: whatever the members send, a process keeps at most about
 * CHAT_MAX_ROOMS x CHAT_HISTORY_BYTES of history (256 MiB), and a message is at most
 * CHAT_MAX_PAYLOAD unless `--max-payload` says otherwise.
 */
export const CHAT_MAX_PAYLOAD = 64 * 1024;
/** Rooms with members in one process (and rooms whose history is kept). */
export const CHAT_MAX_ROOMS = 1000;
/** Messages and bytes of history per room (in one process and in each Redis stream). */
export const CHAT_HISTORY = 1000;
export const CHAT_HISTORY_BYTES = 256 * 1024;
/** Room names: 1 to 64 of these characters (after percent-decoding). */
const ROOM_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
/** The smallest message limit the Redis adapter is given (its default). */
const REDIS_MIN_MESSAGE = 1024 * 1024;

export interface ChatLimits {
  /** Rooms with members at once; a connection to another room is closed with 1013. */
  maxRooms?: number;
}

/** Members per room, per server: what the room cap counts. */
const roomsOf = new WeakMap<WebSocketServer, Map<string, number>>();

/**
 * The chat of `tsws serve --chat`: a connection to `/chat/ROOM` joins topic ROOM, and every
 * message it sends (text or binary) is published to the room, itself included, in the one
 * order every member sees. With `?seq` the connection gets the sequenced form (JSON with
 * `seq` and `prev`); with `?since=SEQ` it first gets what it missed after SEQ (within the
 * history), then the live messages, in the sequenced form.
 *
 * Returns false when `req` is not for a room (the caller serves it otherwise).
 */
export function joinChat(
  wss: WebSocketServer,
  ws: WebSocket,
  req: IncomingMessage,
  limits: ChatLimits = {},
): boolean {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (!url.pathname.startsWith(CHAT_PREFIX)) return false;
  let room: string;
  try {
    room = decodeURIComponent(url.pathname.slice(CHAT_PREFIX.length));
  } catch {
    room = '';
  }
  const since = url.searchParams.get('since');
  if (room === '') {
    ws.close(CloseCode.PolicyViolation, 'no room: connect to /chat/ROOM');
    return true;
  }
  if (!ROOM_NAME.test(room)) {
    ws.close(CloseCode.PolicyViolation, 'room names are 1-64 characters: A-Z a-z 0-9 _ . -');
    return true;
  }
  let rooms = roomsOf.get(wss);
  if (rooms === undefined) {
    rooms = new Map();
    roomsOf.set(wss, rooms);
  }
  const members = rooms.get(room) ?? 0;
  if (members === 0 && rooms.size >= (limits.maxRooms ?? CHAT_MAX_ROOMS)) {
    ws.close(CloseCode.TryAgainLater, 'too many rooms on this server');
    return true;
  }
  if (since !== null && !isSeq(since)) {
    ws.close(CloseCode.PolicyViolation, 'since must be a sequence id (such as 1718000000000-0)');
    return true;
  }
  rooms.set(room, members + 1);
  ws.once('close', () => {
    const left = rooms.get(room)! - 1;
    if (left > 0) rooms.set(room, left);
    else rooms.delete(room);
  });
  const sequenced = since !== null || url.searchParams.has('seq');
  ws.on('message', (data, isBinary) => {
    wss.publish(room, data as Buffer, { binary: isBinary });
  });
  if (since === null) ws.subscribe(room, { sequenced });
  else void wss.replay(ws, room, since, { sequenced }).catch(() => ws.terminate());
  return true;
}

/**
 * The rooms' pub/sub: in this process (with a replay history), or through Redis; both with
 * the history bounds above. `maxPayload` (the server's) raises the Redis adapter's message
 * limit, so that every message a member may send still crosses Redis. A Redis that does not
 * answer does not hold the server up: see chat-redis.ts.
 */
export async function chatPubSub(
  redis: string | undefined,
  maxPayload = CHAT_MAX_PAYLOAD,
): Promise<PubSubOptions> {
  if (redis === undefined) {
    return { history: CHAT_HISTORY, historyBytes: CHAT_HISTORY_BYTES, maxTopics: CHAT_MAX_ROOMS };
  }
  if (!/^rediss?:\/\//i.test(redis)) {
    throw new UsageFault(`--redis takes a redis:// or rediss:// URL, not ${redis}`);
  }
  let module: typeof import('./chat-redis.js');
  try {
    module = await import('./chat-redis.js');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('--redis needs the ioredis package: npm install ioredis');
  }
  const adapter = new module.ChatRedisAdapter({
    url: redis,
    historyLength: CHAT_HISTORY,
    historyBytes: CHAT_HISTORY_BYTES,
    maxMessage: Math.max(REDIS_MIN_MESSAGE, maxPayload),
  });
  // The server starts either way, at once; a Redis that does not answer is told on stderr.
  await module.watchRedis(adapter, redis);
  return { adapter };
}
