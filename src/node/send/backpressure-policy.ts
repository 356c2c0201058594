/** What the queue holds, as a policy sees it. */
export interface Backlog {
  /** Payload bytes of the messages waiting in the queue (what `bufferedAmount` counts). */
  readonly heldBytes: number;
  /** The same messages as frames will weigh once serialized (`frameCost`). */
  readonly heldCost: number;
  /** Bytes serialized or in the transport, not yet written out (on their way: never dropped). */
  pendingBytes(): number;
  /** `maxBackpressure`. */
  readonly limit: number;
}

/** A message (or fragment) as a policy sees it. */
export interface Admissible {
  /** A whole message or the first fragment of one: it may be dropped (a later fragment cannot). */
  readonly first: boolean;
}

/** The message goes into the queue. */
export const GO = 0;
/** The message is dropped (with the rest of its message, for a first fragment). */
export const DROP_NEWEST = 1;
/**
 * The oldest whole messages waiting are dropped down to the limit, then the policy is asked
 * again (`roomMade`).
 */
export const DROP_OLDEST = 2;
/** The connection fails (1008): nothing can be dropped to honour the limit. */
export const FAIL = 3;
export type Verdict = typeof GO | typeof DROP_NEWEST | typeof DROP_OLDEST | typeof FAIL;

/**
 * What becomes of a message sent while the sender ignores a false `send()` (the queue asks
 * only then: a sender that waits for `drain` never meets the policy). One shared object per
 * policy; it holds no state.
 */
export interface SendPolicy {
  readonly name: BackpressurePolicy;
  admit(item: Admissible, backlog: Backlog, roomMade: boolean): Verdict;
}

/** Whether the backlog, transport included, is within the limit (as uWebSockets' maxBackpressure). */
function withinLimit(backlog: Backlog): boolean {
  return backlog.pendingBytes() + backlog.heldCost <= backlog.limit;
}

/** Over the limit, the connection fails. */
export const closePolicy: SendPolicy = {
  name: 'close',
  admit: (_item, backlog) => (withinLimit(backlog) ? GO : FAIL),
};

/** Over the limit, the new message is dropped (a later fragment cannot be: the connection fails). */
export const dropNewestPolicy: SendPolicy = {
  name: 'drop-newest',
  admit: (item, backlog) => (withinLimit(backlog) ? GO : item.first ? DROP_NEWEST : FAIL),
};

/**
 * Keeps the newest messages: only what waits in the queue can be dropped (what the transport
 * holds, at most the hold mark, is on its way), so the limit counts the payload bytes waiting
 * there, and the oldest whole messages make room for the new one. Counting the transport too
 * dropped every new message once it alone was over the limit (issue 11). When no room can be
 * made, the new message is dropped in turn.
 */
export const dropOldestPolicy: SendPolicy = {
  name: 'drop-oldest',
  admit: (item, backlog, roomMade) => {
    if (backlog.heldBytes <= backlog.limit) return GO;
    if (!roomMade) return DROP_OLDEST;
    return item.first ? DROP_NEWEST : FAIL;
  },
};

/** The policy object for a configured name (one shared object each, no allocation). */
export function sendPolicy(name: BackpressurePolicy): SendPolicy {
  return name === 'drop-oldest'
    ? dropOldestPolicy
    : name === 'drop-newest'
      ? dropNewestPolicy
      : closePolicy;
}

export type BackpressurePolicy = 'close' | 'drop-newest' | 'drop-oldest';
