import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../node/index.js';
import type { ServerOptions } from '../node/server.js';
import { joinChat } from './chat.js';
import { DEMO_PAGE } from './demo-page.js';

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
  readonly http: http.Server;
  readonly wss: WebSocketServer;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}

/**
 * The echo server of `tsws serve`: the demo page at `/`, and on any path a WebSocket endpoint
 * that sends every text or binary message back unchanged, with the same type.
 */
export async function startEchoServer(options: EchoServerOptions): Promise<EchoServer> {
  const server = http.createServer(servePage);
  const wss = new WebSocketServer({ ...options.settings, server });
  wss.on('connection', (ws, req) => {
    if (options.chat && joinChat(wss, ws, req)) return;
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    http: server,
    wss,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        wss.close(() => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      }),
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
