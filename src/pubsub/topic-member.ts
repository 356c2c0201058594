import type { CoalesceWindow } from './coalesce-window.js';
import type { PreparedMessage } from './prepared-message.js';

/** `readyState` of an open connection (WHATWG WebSocket `OPEN`). */
export const MEMBER_OPEN = 1;

/**
 * What the server's topics need of a connection; node's WebSocket has it. The connection picks
 * its own compression group (prepared-message.ts shares the compressed frame per group), and
 * the topics a connection is in are kept by the registry, so a connection that never
 * subscribes carries nothing for pub/sub.
 */
export interface TopicMember {
  /** Only an open member (`MEMBER_OPEN`) is subscribed. */
  readonly readyState: number;
  /**
   * Sends a published message, framed once for all members, in order with the member's other
   * sends and under its backpressure policy. False when it was not sent (closing, or dropped).
   * With a coalescing `window`, its write may wait for the window's end (never its order).
   */
  _deliverPrepared(message: PreparedMessage, sequenced: boolean, window?: CoalesceWindow): boolean;
  /**
   * Resolves once a message would go straight out (or the member sends no more): a replay
   * paces itself by it instead of meeting the backpressure policy.
   */
  _whenWritable(): Promise<void>;
}

/** Whether `value` is a member (and not an iterable of members). */
export function isTopicMember(value: unknown): value is TopicMember {
  return typeof (value as TopicMember)._deliverPrepared === 'function';
}
