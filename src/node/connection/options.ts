import { type ConnectionConfig, connectionConfig, type Role } from '../../protocol/index.js';
import type { BackpressurePolicy } from '../send/backpressure-policy.js';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions, validateHeartbeat } from './heartbeat.js';
import { MemoryBudget, type MemoryPolicy, processMemoryBudget } from './memory-budget.js';

/** Settings of an open connection, shared by server-side sockets and the client. */
export type { BackpressurePolicy };

export interface ConnectionSettings {
  /** Largest message accepted, in bytes (0: no limit). Default 100 MiB. Larger ones get 1009. */
  maxPayload?: number;
  /** Most frames one message may be made of. Default 65,536. More get 1009. */
  maxFragments?: number;
  /** Skip the UTF-8 check of received text (trusted peers only). Default false. */
  skipUTF8Validation?: boolean;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /**
   * Milliseconds from `close()` (or from a close frame sent or received) to the end of the
   * closing handshake, messages queued before the close included; then TCP is destroyed.
   * Default 30 s. `server.close()` gives every connection this long.
   */
  closeTimeout?: number;
  /**
   * Ping every `interval` ms; terminate after `maxMissed` pings with nothing from the peer
   * (close code 1006, reason `heartbeat timeout`). No beat counts as missed while the
   * application holds reading paused. Default `{ interval: 30000, maxMissed: 2 }` (the
   * article's profile is `FAST_HEARTBEAT`); `false` turns it off.
   */
  heartbeat?: HeartbeatOptions | false;
  /**
   * Most bytes of outgoing messages waiting for a peer that does not read (`bufferedAmount`:
   * queued here and in the socket). A message sent while a `send()` answer of false is still
   * pending (no `drain` yet) and the backlog is over this limit meets `backpressurePolicy`; a
   * producer that waits for `drain` never does. Default 64 MiB; `Infinity` for none. Beyond
   * it, pings from the peer are not read until our pongs drain.
   */
  maxBackpressure?: number;
  /**
   * What happens beyond `maxBackpressure`: `'close'` fails the connection with 1008 (default),
   * `'drop-newest'` drops the message being sent, `'drop-oldest'` drops the oldest messages
   * waiting in tsws first (it keeps the newest `maxBackpressure` bytes waiting in tsws, on top
   * of what the socket holds, at most min(1 MiB, maxBackpressure)). Only whole messages are dropped (a `dropped` event reports each, its
   * callback gets `WS_ERR_MESSAGE_DROPPED`); a later fragment of a message already started
   * cannot be, so the connection is closed with 1008 then.
   */
  backpressurePolicy?: BackpressurePolicy;
  /**
   * Budgets for what the peer sends, per second, with bursts of up to one second's worth:
   * beyond them the connection is failed with 1008 (`WS_ERR_RATE_LIMITED`). Default: none.
   */
  rateLimit?: RateLimit;
  /**
   * A byte budget for messages being assembled from several reads or inflated, shared by
   * connections: a `MemoryBudget` (share one between servers), a size in bytes (a budget for
   * this server alone), or `false` for none. Servers default to `processMemoryBudget` (256 MiB,
   * every server of the process), clients to none. See `memoryBudgetPolicy`.
   */
  memoryBudget?: MemoryBudget | number | false;
  /**
   * Beyond the memory budget: `'pause'` (default) stops reading from a connection whose message
   * would pass it until bytes are released; `'refuse'` fails it with 1009
   * (`WS_ERR_MEMORY_BUDGET_EXCEEDED`).
   */
  memoryBudgetPolicy?: MemoryPolicy;
}

export interface RateLimit {
  /** Messages (and control frames) per second. */
  messages?: number;
  /** Payload bytes per second. */
  bytes?: number;
}

export const DEFAULT_CLOSE_TIMEOUT = 30_000;
export const DEFAULT_MAX_BACKPRESSURE = 64 * 1024 * 1024;

export interface SendOptions {
  /** Send as binary (default: true unless the data is a string). */
  binary?: boolean;
  /** false: this is a fragment and more of the message follows (RFC 6455 §5.4). Default true. */
  fin?: boolean;
  /** Accepted for ws compatibility: clients always mask, servers never do (RFC 6455 §5.1). */
  mask?: boolean;
  /** false: send this message uncompressed even if permessage-deflate was agreed. Default true. */
  compress?: boolean;
}

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments';

/** What `send` accepts. Numbers are sent as their decimal text, as ws does. */
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | Blob | number;

/** Settings resolved once and shared by every connection of a server (an idle connection holds a reference, not a copy). */
export interface BindingSettings {
  readonly connection: ConnectionConfig;
  readonly closeTimeout: number;
  readonly heartbeat: HeartbeatOptions | undefined;
  readonly maxBackpressure: number;
  readonly backpressurePolicy: BackpressurePolicy;
  readonly rateLimit: Readonly<Required<RateLimit>> | undefined;
  readonly memoryBudget: MemoryBudget | undefined;
  readonly memoryPolicy: MemoryPolicy;
}

export function bindingSettings(role: Role, settings: ConnectionSettings): BindingSettings {
  const heartbeat = settings.heartbeat === undefined ? DEFAULT_HEARTBEAT : settings.heartbeat;
  const closeTimeout = settings.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
  if (!(Number.isFinite(closeTimeout) && closeTimeout >= 0)) {
    throw new TypeError('closeTimeout must be a number of milliseconds');
  }
  return Object.freeze({
    connection: connectionConfig({
      role,
      maxPayload: settings.maxPayload,
      maxFragments: settings.maxFragments,
      skipUtf8Validation: settings.skipUTF8Validation,
      autoPong: settings.autoPong,
    }),
    closeTimeout,
    heartbeat: heartbeat === false ? undefined : validateHeartbeat(heartbeat),
    maxBackpressure: positive(
      'maxBackpressure',
      settings.maxBackpressure ?? DEFAULT_MAX_BACKPRESSURE,
    ),
    backpressurePolicy: policy(settings.backpressurePolicy ?? 'close'),
    rateLimit: rateLimit(settings.rateLimit),
    memoryBudget: memoryBudget(role, settings.memoryBudget),
    memoryPolicy: memoryPolicy(settings.memoryBudgetPolicy ?? 'pause'),
  });
}

function memoryBudget(
  role: Role,
  value: MemoryBudget | number | false | undefined,
): MemoryBudget | undefined {
  if (value === undefined) return role === 'server' ? processMemoryBudget : undefined;
  if (value === false) return undefined;
  if (value instanceof MemoryBudget) return value;
  return new MemoryBudget(value);
}

function memoryPolicy(value: string): MemoryPolicy {
  if (value !== 'pause' && value !== 'refuse') {
    throw new TypeError('memoryBudgetPolicy must be "pause" or "refuse"');
  }
  return value;
}

function positive(name: string, value: number): number {
  if (!(value > 0)) throw new TypeError(`${name} must be a positive number`);
  return value;
}

function policy(value: string): BackpressurePolicy {
  if (value !== 'close' && value !== 'drop-newest' && value !== 'drop-oldest') {
    throw new TypeError('backpressurePolicy must be "close", "drop-newest" or "drop-oldest"');
  }
  return value;
}

function rateLimit(limit: RateLimit | undefined): Readonly<Required<RateLimit>> | undefined {
  if (limit === undefined) return undefined;
  const messages = positive('rateLimit.messages', limit.messages ?? Number.POSITIVE_INFINITY);
  const bytes = positive('rateLimit.bytes', limit.bytes ?? Number.POSITIVE_INFINITY);
  return Object.freeze({ messages, bytes });
}
