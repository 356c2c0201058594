import type { IncomingMessage } from 'node:http';
import type { PubSubOptions, WebSocket, WebSocketServer } from '../node/index.js';
import { CloseCode } from '../protocol/index.js';
import { isSeq } from '../pubsub/index.js';

/** Where rooms are: `/chat/ROOM`. */
export const CHAT_PREFIX = '/chat/';

/**
 * The chat of `tsws serve --chat`: a connection to `/chat/ROOM` joins topic ROOM, and every
 * message it sends (text or binary) is published to the room, itself included, in the one
 * order every member sees. With `?seq` the connection gets the sequenced form (JSON with
 * `seq` and `prev`); with `?since=SEQ` it first gets what it missed after SEQ (within the
 * history), then the live messages, in the sequenced form.
 *
 * Returns false when `req` is not for a room (the caller serves it otherwise).
 */
export function joinChat(wss: WebSocketServer, ws: WebSocket, req: IncomingMessage): boolean {
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
  if (since !== null && !isSeq(since)) {
    ws.close(CloseCode.PolicyViolation, 'since must be a sequence id (such as 1718000000000-0)');
    return true;
  }
  const sequenced = since !== null || url.searchParams.has('seq');
  ws.on('message', (data, isBinary) => {
    wss.publish(room, data as Buffer, { binary: isBinary });
  });
  if (since === null) ws.subscribe(room, { sequenced });
  else void wss.replay(ws, room, since, { sequenced }).catch(() => ws.terminate());
  return true;
}

/** The rooms' pub/sub: in this process (with a replay history), or through Redis. */
export async function chatPubSub(redis: string | undefined): Promise<PubSubOptions> {
  if (redis === undefined) return { history: 1000 };
  let module: typeof import('../pubsub/redis/index.js');
  try {
    module = await import('../pubsub/redis/index.js');
  } catch (error) {
    if ((error as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    throw new Error('--redis needs the ioredis package: npm install ioredis');
  }
  const adapter = new module.RedisAdapter({ url: redis });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 10_000);
  });
  if (!(await Promise.race([adapter.ready().then(() => true), late]))) {
    process.stderr.write(`tsws: Redis at ${redis} does not answer yet; retrying\n`);
  }
  clearTimeout(timer);
  return { adapter };
}
