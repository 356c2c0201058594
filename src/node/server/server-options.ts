import type * as http from 'node:http';
import type * as https from 'node:https';
import type { Duplex } from 'node:stream';
import type { PerMessageDeflateOptions } from '../../extensions/index.js';
import type { OutgoingHeaders } from '../../handshake/index.js';
import type { OriginPattern } from '../../handshake/origin-policy.js';
import type { UndeliveredReport } from '../../pubsub/index.js';
import type { PubSubOptions } from '../../pubsub/server-pubsub.js';
import type { ConnectionSettings } from '../connection/options.js';
import type { WebSocket } from '../websocket.js';

/** What `verifyClient` is given, as in ws. */
export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: http.IncomingMessage;
}
export type VerifyClientCallback = (
  verified: boolean,
  code?: number,
  message?: string,
  headers?: OutgoingHeaders,
) => void;
export type VerifyClient =
  | ((info: VerifyClientInfo) => boolean)
  | ((info: VerifyClientInfo, callback: VerifyClientCallback) => void);

export interface ServerOptions extends ConnectionSettings {
  /** Listen on this port (a standalone HTTP server is created). */
  port?: number;
  host?: string;
  backlog?: number;
  /**
   * With `port`: plain HTTP requests on the same port (every request that is not a WebSocket
   * upgrade) go to this request listener (`(req, res) => ...`, an Express app) or to this
   * `http.Server` (one that does not listen itself: a Fastify or Koa server, with its own
   * options and routes; upgrade requests for another `path` go to it too). On the fast path
   * the server reads each request head itself, keeps the upgrades, and hands every other
   * connection to `http` with the bytes already read, so WebSocket connections cost what they
   * cost on a WebSocket-only server. A listener that throws (or rejects) ends its request with
   * 500 and an `error` event; the process goes on. Default: 426 Upgrade Required.
   */
  handleRequest?: http.RequestListener | http.Server;
  /** Attach to this existing HTTP(S) server. */
  server?: http.Server | https.Server;
  /** Neither listen nor attach: the application calls `handleUpgrade`. */
  noServer?: boolean;
  /** Only accept upgrades for this path (the query string is ignored). */
  path?: string;
  /** Choose the subprotocol among the client's offers; false for none. Default: the first offer. */
  handleProtocols?: (protocols: Set<string>, req: http.IncomingMessage) => string | false;
  /** ws's hook: return false (or call back with false, a status and headers) to refuse. */
  verifyClient?: VerifyClient;
  /**
   * Decide on an upgrade, possibly asynchronously. The value returned (or resolved) becomes
   * `ws.data`; throw (or reject with) an `UpgradeRejection` to answer with its status and
   * headers. Any other error refuses with 500.
   */
  authenticate?: (req: http.IncomingMessage) => unknown;
  /**
   * With `port`: accept connections on libuv TCP handles directly, without `http` and
   * `net.Socket` (less memory per connection, faster handshakes and messages). `req` is then an
   * IncomingMessage whose `socket` is a light object (remote and local address, `write`, `end`,
   * `destroy`). Default true; false, or a Node.js without the handles, uses `http`.
   */
  fastPath?: boolean;
  /**
   * With `port`: milliseconds a client has to send its request head, from the TCP connection
   * (a client that sends nothing, or a byte at a time, gets 408 and is cut off). Default 10 s.
   * With `server`, that server's `headersTimeout` and `requestTimeout` apply.
   */
  handshakeTimeout?: number;
  /**
   * With `port`: largest request head, in bytes (431 beyond). Default 16 KiB, as Node's. With
   * `server`, that server's `maxHeaderSize` applies.
   */
  maxHeaderSize?: number;
  /**
   * permessage-deflate (RFC 7692): off by default (compression costs CPU and memory per
   * connection; see the README for the cost of each setting). `true` or options turn it on.
   */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * Origins allowed to connect (the `Origin` header a browser sends): exact origins such as
   * `'https://app.example'` (compared ASCII case-insensitively) or regular expressions tested
   * on the value as sent (anchor them: `/^https:\/\/[a-z]+\.example$/`). Any other origin is
   * refused with 403 before the upgrade. Default: any origin. Browsers send cookies with a
   * WebSocket handshake from any site, so a server that authenticates by cookie needs this
   * check (cross-site WebSocket hijacking, RFC 6455 §10.2).
   */
  origins?: readonly OriginPattern[];
  /**
   * Whether a request without `Origin` (non-browser clients usually send none) is allowed.
   * Default true; false refuses it with 403.
   */
  allowMissingOrigin?: boolean;
  /** Most connections at once (open and in their handshake, counted from the TCP accept on a standalone server); more get 503. Default: no limit. */
  maxConnections?: number;
  /** Most connections at once from one IP address (counted as `maxConnections`); more get 503. Default: no limit. */
  maxConnectionsPerIp?: number;
  /**
   * Close each connection with 1001 (Going Away) after this many milliseconds, minus up to
   * `maxLifetimeJitter` of it at random (so clients of a rolling deploy do not all reconnect at
   * once). Default: no limit.
   */
  maxLifetime?: number;
  /** Fraction (0-1) of `maxLifetime` taken off at random for each connection. Default 0.1. */
  maxLifetimeJitter?: number;
  /** Keep the set of open connections in `clients`. Default true. */
  clientTracking?: boolean;
  /** Topics (`ws.subscribe`, `server.publish`): the adapter between processes, history. */
  pubsub?: PubSubOptions;
}

/** The events of a WebSocketServer and their arguments. */
export interface WebSocketServerEvents {
  connection: [ws: WebSocket, req: http.IncomingMessage];
  listening: [];
  error: [error: Error];
  close: [];
  headers: [lines: string[], req: http.IncomingMessage];
  wsClientError: [error: Error, socket: Duplex, req: http.IncomingMessage];
  /** A publish failed (or could not be confirmed), or messages of a topic could not be had. */
  undelivered: [report: UndeliveredReport];
}
