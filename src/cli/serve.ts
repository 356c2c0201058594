import type * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ParseArgsConfig } from 'node:util';
import type { MemoryPolicy } from '../node/connection/memory-budget.js';
import type { BackpressurePolicy } from '../node/connection/options.js';
import { DEFAULT_HEARTBEAT, WebSocketServer } from '../node/index.js';
import type { ServerOptions } from '../node/server/server.js';
import { joinChat } from './chat.js';
import { DEMO_PAGE } from './demo-page.js';
import { parseBytes as bytes } from './sizes.js';
import { UsageFault } from './usage-fault.js';

/** The flags of `tsws serve`, for `util.parseArgs`: a new flag is a row here and a line in `serveOptions`. */
export const SERVE_FLAGS = {
  port: { type: 'string', short: 'p', default: '8080' },
  host: { type: 'string' },
  deflate: { type: 'boolean', default: false },
  chat: { type: 'boolean', default: false },
  redis: { type: 'string' },
  workers: { type: 'string' },
  'max-payload': { type: 'string' },
  heartbeat: { type: 'string' },
  'handshake-timeout': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'max-backpressure': { type: 'string' },
  'backpressure-policy': { type: 'string' },
  'close-timeout': { type: 'string' },
  'memory-budget': { type: 'string' },
  'memory-budget-policy': { type: 'string' },
  origin: { type: 'string', multiple: true },
} as const satisfies ParseArgsConfig['options'];

export const SERVE_USAGE = `  tsws serve [--port 8080] [--host HOST] [--deflate] [--chat [--redis URL]] [--workers N] [limits]
      An echo server on every path, and the demo page at http://HOST:PORT/
      --deflate                     accept permessage-deflate (compression) offers
      --chat                        chat rooms: a connection to /chat/ROOM gets every message
                                    sent to ROOM (its own too); ?seq gives them as JSON with
                                    sequence ids, ?since=SEQ replays from SEQ; ROOM: 1-64 of
                                    A-Z a-z 0-9 _ . -; 1000 rooms, 1000 messages and 256K of
                                    history per room
      --redis URL                   share the rooms with every tsws serve --chat on this Redis
                                    (retried every 2 s while it does not answer; meanwhile
                                    messages to rooms are not delivered)
      --workers N                   N processes on the one port, each accepting its share of
                                    connections; chat rooms are shared between them (through
                                    this process, or Redis with --redis); a worker that crashes
                                    is restarted; SIGTERM/SIGINT stops them all (exit 0 when
                                    all stopped in time)
      --max-payload BYTES           largest message accepted (default 100M, 64K with --chat;
                                    larger: close 1009)
      --heartbeat MS[,MISSED]|off   ping every MS ms; a peer silent for MISSED pings is dropped
                                    (default 30000,2; the article's profile: 5000,3)
      --handshake-timeout MS        time to send the request head (default 10000; then 408)
      --max-connections N           connections at once (default: no limit; more get 503)
      --max-connections-per-ip N    connections at once from one address (default: no limit)
      --max-backpressure BYTES      bytes waiting for a peer that does not read (default 64M)
      --backpressure-policy close|drop-oldest|drop-newest
                                    beyond it: close with 1008 (default), or drop messages
      --close-timeout MS            wait for a peer's close frame (default 30000)
      --memory-budget BYTES         bytes of messages being assembled or inflated, all
                                    connections together (default 256M, shared by the process)
      --memory-budget-policy pause|refuse
                                    beyond it: stop reading until bytes are released (default),
                                    or close with 1009
      --origin ORIGIN               allow browsers of this origin only (repeatable; others
                                    get 403; requests without Origin pass)
      BYTES take a K, M or G suffix (KiB, MiB, GiB). SIGTERM or SIGINT starts a graceful
      shutdown: 1001 to every peer, waiting up to --close-timeout; a second signal ends it.
`;

type ServeFlags = { [K in keyof typeof SERVE_FLAGS]?: string | boolean | string[] };

/** The echo server's options from the flags of `tsws serve`; a UsageFault for a bad value. */
export function serveOptions(flags: ServeFlags): EchoServerOptions {
  const port = Number(flags.port ?? '8080');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageFault(`invalid port: ${flags.port}`);
  }
  const settings: EchoServerOptions['settings'] = { perMessageDeflate: flags.deflate === true };
  const text = (name: keyof ServeFlags) => flags[name] as string | undefined;
  if (text('max-payload') !== undefined)
    settings.maxPayload = bytes('max-payload', text('max-payload')!);
  if (text('heartbeat') !== undefined) settings.heartbeat = heartbeat(text('heartbeat')!);
  if (text('handshake-timeout') !== undefined) {
    settings.handshakeTimeout = count('handshake-timeout', text('handshake-timeout')!);
  }
  if (text('max-connections') !== undefined) {
    settings.maxConnections = count('max-connections', text('max-connections')!);
  }
  if (text('max-connections-per-ip') !== undefined) {
    settings.maxConnectionsPerIp = count('max-connections-per-ip', text('max-connections-per-ip')!);
  }
  if (text('max-backpressure') !== undefined) {
    settings.maxBackpressure = bytes('max-backpressure', text('max-backpressure')!);
  }
  const policy = text('backpressure-policy');
  if (policy !== undefined) {
    if (policy !== 'close' && policy !== 'drop-oldest' && policy !== 'drop-newest') {
      throw new UsageFault(
        `--backpressure-policy: close, drop-oldest or drop-newest, not ${policy}`,
      );
    }
    settings.backpressurePolicy = policy satisfies BackpressurePolicy;
  }
  if (text('close-timeout') !== undefined) {
    settings.closeTimeout = count('close-timeout', text('close-timeout')!);
  }
  if (text('memory-budget') !== undefined) {
    // A number: a budget of this server's own.
    settings.memoryBudget = bytes('memory-budget', text('memory-budget')!);
  }
  const memoryPolicy = text('memory-budget-policy');
  if (memoryPolicy !== undefined) {
    if (memoryPolicy !== 'pause' && memoryPolicy !== 'refuse') {
      throw new UsageFault(`--memory-budget-policy: pause or refuse, not ${memoryPolicy}`);
    }
    settings.memoryBudgetPolicy = memoryPolicy satisfies MemoryPolicy;
  }
  const origins = flags.origin as string[] | undefined;
  if (origins !== undefined && origins.length > 0) {
    for (const origin of origins) {
      // An origin is scheme://host[:port], no path (RFC 6454 §6.2), or "null".
      if (origin !== 'null' && !/^[a-z][a-z0-9+.-]*:\/\/[^/?#\s]+$/i.test(origin)) {
        throw new UsageFault(`--origin takes an origin such as https://example.com, not ${origin}`);
      }
    }
    settings.origins = origins;
  }
  return { port, host: text('host'), settings, chat: flags.chat === true };
}

/** A positive whole number (milliseconds, connections). */
function count(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !(n > 0)) {
    throw new UsageFault(`--${flag} takes a positive whole number, not ${JSON.stringify(value)}`);
  }
  return n;
}

/** `MS[,MISSED]`, or `off`. */
function heartbeat(value: string): ServerOptions['heartbeat'] {
  if (value === 'off') return false;
  const [interval, missed, ...rest] = value.split(',');
  if (rest.length > 0) throw new UsageFault(`--heartbeat takes MS[,MISSED] or off, not ${value}`);
  return {
    interval: count('heartbeat', interval!),
    maxMissed: missed === undefined ? DEFAULT_HEARTBEAT.maxMissed : count('heartbeat', missed),
  };
}

export interface EchoServerOptions {
  port: number;
  /** Default: every interface (IPv4 and IPv6). */
  host?: string;
  /** Settings for every connection (limits, heartbeat...). */
  settings?: Omit<ServerOptions, 'port' | 'host' | 'server' | 'noServer'>;
  /** Chat rooms at `/chat/ROOM` (chat.ts); other paths still echo. */
  chat?: boolean;
}

export interface EchoServer {
  readonly wss: WebSocketServer;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The echo server of `tsws serve`: the demo page at `/`, and on any path a WebSocket endpoint
 * that sends every text or binary message back unchanged, with the same type. One port for
 * both: the WebSocket server listens (its fast path) and hands plain requests to the page.
 */
export async function startEchoServer(options: EchoServerOptions): Promise<EchoServer> {
  const wss = new WebSocketServer({
    ...options.settings,
    port: options.port,
    host: options.host,
    handleRequest: servePage,
  });
  wss.on('connection', (ws, req) => {
    if (options.chat && joinChat(wss, ws, req)) return;
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  // A listen failure (port in use, unknown host) rejects here.
  await new Promise<void>((resolve, reject) => {
    wss.once('error', reject);
    wss.once('listening', () => {
      wss.off('error', reject);
      resolve();
    });
  });
  return {
    wss,
    port: (wss.address() as AddressInfo).port,
    // Stop listening; WebSocket peers get 1001 and up to closeTimeout to answer; then what is
    // left on HTTP (keep-alive, half-sent requests) is dropped.
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}

function servePage(req: http.IncomingMessage, res: http.ServerResponse): void {
  const path = (req.url ?? '/').split('?')[0];
  if (path !== '/' && path !== '/index.html') {
    send(res, 404, 'text/plain; charset=utf-8', 'Not Found\n');
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    send(res, 405, 'text/plain; charset=utf-8', 'Method Not Allowed\n');
    return;
  }
  send(res, 200, 'text/html; charset=utf-8', DEMO_PAGE, req.method === 'HEAD');
}

function send(
  res: http.ServerResponse,
  status: number,
  type: string,
  body: string,
  headOnly = false,
): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(headOnly ? undefined : body);
}
