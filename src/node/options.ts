import { type ConnectionConfig, connectionConfig, type Role } from '../protocol/index.js';
import { DEFAULT_HEARTBEAT, type HeartbeatOptions, validateHeartbeat } from './heartbeat.js';

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

/** Settings resolved once and shared by every connection of a server (an idle connection holds a reference, not a copy). */
export interface BindingSettings {
  readonly connection: ConnectionConfig;
  readonly closeTimeout: number;
  readonly heartbeat: HeartbeatOptions | undefined;
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
  });
}
