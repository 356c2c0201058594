// The states and state bits of a WebSocket (websocket.ts, socket-base.ts).

export const CONNECTING = 0;
export const OPEN = 1;
export const CLOSING = 2;
export const CLOSED = 3;
export const EMPTY = Buffer.alloc(0);

// WebSocket state bits (one field: an idle connection should cost little).
/** A frame arrived since the last heartbeat sweep. */
export const ALIVE = 1;
export const FLUSH_SCHEDULED = 2;
/** Inside `receiveData`: sends are flushed once at its end. */
export const IN_RECEIVE = 4;
/** The application paused reading. */
export const PAUSED = 8;
/** Published frames wait in the core for the pub/sub coalescing window (coalesce-window.ts). */
export const IN_WINDOW = 16;
/** `close()` was called; its close frame waits behind queued messages. */
export const CLOSE_QUEUED = 32;
/** Reading stopped: the peer pings but does not read our pongs (see `_onPingReceived`). */
export const BACKLOG = 64;
/** A client's closing handshake is over: it waits a short while for the server's TCP close. */
export const CLOSE_WAIT = 128;

/**
 * How long a client waits for the server to close TCP once both close frames are exchanged
 * (RFC 6455 §7.1.1 leaves the TCP close to the server): Chromium's 2 s, then it closes TCP
 * itself, and the close is still clean.
 */
export const CLIENT_CLOSE_WAIT = 2000;
