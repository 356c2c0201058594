import { Redis } from 'ioredis';
import { RedisAdapter, type RedisAdapterOptions } from '../pubsub/redis/index.js';

/**
 * How often the CLI tries Redis again while it does not answer: the pace of the adapter's
 * subscriber connection after its first few tries (redis-adapter.ts), which the chat needs too.
 */
export const REDIS_RETRY_MS = 2000;
/**
 * A Redis that neither refuses nor answers (a port that accepts and stays silent, packets
 * dropped) counts as not answering after this long: ioredis would otherwise wait forever for
 * the reply to its ready check.
 */
export const REDIS_ANSWER_MS = 3000;
/** While Redis stays down, a line at most this often says it is still being retried. */
const STILL_DOWN_EVERY_MS = 10_000;

/**
 * The Redis adapter of `tsws serve --chat --redis URL`, on a publishing connection made here
 * so that it gives up on a silent Redis (`connectTimeout`, `socketTimeout`) and retries at a
 * steady pace; the subscriber connection is its duplicate, so it gives up alike. What happens
 * while Redis is down is the adapter's: members may join (their rooms are subscribed once
 * Redis answers), a message sent meanwhile is not delivered (reported as `undelivered`), and
 * once Redis is back each room catches up from its Redis stream.
 */
export class ChatRedisAdapter extends RedisAdapter {
  private readonly client: Redis;

  constructor(options: RedisAdapterOptions & { url: string }) {
    const client = new Redis(options.url, {
      connectionName: 'tsws:serve:pub',
      // The adapter's own settings for its connections (redis-adapter.ts): nothing waits for a
      // connection, nothing is sent twice.
      enableOfflineQueue: false,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      enableAutoPipelining: true,
      retryStrategy: () => REDIS_RETRY_MS,
      connectTimeout: REDIS_ANSWER_MS,
      socketTimeout: REDIS_ANSWER_MS,
      // Ending a connection that never came up waits this long for nothing (ioredis 6): a
      // shutdown while Redis is down would linger 2 s.
      disconnectTimeout: 500,
    });
    super({ ...options, client });
    this.client = client;
  }

  override async close(): Promise<void> {
    await super.close();
    // The adapter does not close a client it was given.
    if (this.client.status === 'ready') await this.client.quit().catch(() => {});
    this.client.disconnect();
  }
}

/**
 * Says on stderr, one line each, when Redis does not answer (at once, with why), that it is
 * still retried (at most every 10 s), when the connection is lost and when it is back.
 * Resolves once Redis answered or its first failure was told, so that the server starts at
 * once either way.
 */
export function watchRedis(
  adapter: RedisAdapter,
  url: string,
  write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<void> {
  const retrying = `retrying every ${REDIS_RETRY_MS / 1000} s`;
  const meanwhile = 'chat messages sent meanwhile are not delivered';
  let state: 'starting' | 'up' | 'down' = 'starting';
  let since = 0;
  let toldAt = 0;
  let reason = '';
  let settle!: () => void;
  const settled = new Promise<void>((resolve) => {
    settle = resolve;
  });
  const down = (why: string) => {
    state = 'down';
    since = Date.now();
    toldAt = since;
    write(`tsws: Redis at ${url} ${why}; ${retrying}`);
    settle();
  };
  adapter.on('error', (error: Error) => {
    reason = describe(error);
    if (state === 'starting') down(`does not answer (${reason})`);
    else if (state === 'up' && !adapter.isReady) down(`connection lost (${reason}): ${meanwhile}`);
    else if (state === 'down' && Date.now() - toldAt >= STILL_DOWN_EVERY_MS) {
      toldAt = Date.now();
      const seconds = Math.round((toldAt - since) / 1000);
      write(
        `tsws: Redis at ${url} still does not answer after ${seconds} s (${reason}); ${retrying}`,
      );
    }
  });
  adapter.on('disconnected', () => {
    if (state === 'up') down(`connection lost: ${meanwhile}`);
  });
  adapter.on('ready', () => {
    if (state === 'down') write(`tsws: Redis at ${url} connected`);
    state = 'up';
    settle();
  });
  if (adapter.isReady) {
    state = 'up';
    settle();
  }
  // Slower than the connection's own time-outs: a host name still being looked up, say.
  const late = setTimeout(() => {
    if (state === 'starting') down(`does not answer (nothing within ${REDIS_ANSWER_MS / 1000} s)`);
  }, REDIS_ANSWER_MS + 1000);
  late.unref();
  return settled.finally(() => clearTimeout(late));
}

/** Why a connection failed, in a few words: the system's error code, or ioredis's message. */
function describe(error: Error): string {
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^E[A-Z_]+$/.test(code)) {
    return code === 'ENOTFOUND' ? 'ENOTFOUND: no such host' : code;
  }
  if (/socket timeout/i.test(error.message)) {
    return `no reply within ${REDIS_ANSWER_MS / 1000} s`;
  }
  return error.message.split('\n')[0]!;
}
