import type { HeartbeatOptions } from './heartbeat.js';

/** Settings of an open connection, shared by server-side sockets and the client. */
export interface ConnectionSettings {
  /** Largest message accepted, in bytes (0: no limit). Default 100 MiB. Larger ones get 1009. */
  maxPayload?: number;
  /** Most frames one message may be made of. Default 65,536. More get 1009. */
  maxFragments?: number;
  /** Skip the UTF-8 check of received text (trusted peers only). Default false. */
  skipUTF8Validation?: boolean;
  /** Answer pings automatically. Default true. */
  autoPong?: boolean;
  /** Milliseconds to wait for the peer to finish the closing handshake before destroying TCP. Default 30 s. */
  closeTimeout?: number;
  /**
   * Ping every `interval` ms; terminate after `maxMissed` pings with nothing from the peer.
   * Default `{ interval: 30000, maxMissed: 2 }`; `false` turns it off.
   */
  heartbeat?: HeartbeatOptions | false;
}

export const DEFAULT_CLOSE_TIMEOUT = 30_000;

export interface SendOptions {
  /** Send as binary (default: true unless the data is a string). */
  binary?: boolean;
  /** false: this is a fragment and more of the message follows (RFC 6455 §5.4). Default true. */
  fin?: boolean;
  /** Accepted for ws compatibility: clients always mask, servers never do (RFC 6455 §5.1). */
  mask?: boolean;
  /** Accepted for ws compatibility; compression comes with permessage-deflate. */
  compress?: boolean;
}

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments';

/** What `send` accepts. Numbers are sent as their decimal text, as ws does. */
export type SendData = string | Buffer | ArrayBuffer | ArrayBufferView | Blob | number;
