import type { Duplex } from 'node:stream';
import { buildRejectResponse } from '../../handshake/index.js';
import type { WebSocket } from '../websocket.js';
import type { Admission } from './admission.js';

/**
 * A server's connections counted under `maxConnections` / `maxConnectionsPerIp`: per socket
 * from its TCP accept when the server is ours (or from its upgrade request when attached),
 * then per open WebSocket.
 */
export class ServerAdmission {
  /** Client IP counted by `_admission`, per socket or per open WebSocket. */
  private readonly _admitted = new Map<Duplex | WebSocket, string>();

  constructor(private readonly _admission: Admission) {}

  /**
   * Counts a connection from `ip` until `socket` closes or becomes a WebSocket; false when a
   * limit is reached.
   */
  admit(socket: Duplex, ip: string): boolean {
    if (!this._admission.admit(ip)) return false;
    this._admitted.set(socket, ip);
    // The peer may leave, or a wsClientError listener take the socket, before an upgrade:
    // the admission ends with the socket (after an upgrade it belongs to the WebSocket).
    socket.once('close', () => this.release(socket));
    return true;
  }

  /** A connection accepted by a server of ours: counted at once, or refused with 503. */
  accepted(socket: Duplex): void {
    if (this.admit(socket, clientAddress(socket))) return;
    socket.once('finish', () => socket.destroy());
    socket.end(buildRejectResponse(503, { headers: { 'Retry-After': '1' } }));
  }

  /** Ends an admission (the handshake failed, or the connection closed). */
  release(key: Duplex | WebSocket): void {
    const ip = this._admitted.get(key);
    if (ip === undefined) return;
    this._admitted.delete(key);
    this._admission.release(ip);
  }

  /** The upgrade of `socket` opened `ws`: the admission now ends when `ws` closes. */
  handOver(socket: Duplex, ws: WebSocket): void {
    const ip = this._admitted.get(socket);
    if (ip !== undefined) {
      this._admitted.delete(socket);
      this._admitted.set(ws, ip);
    }
  }
}

/** The client's IP address, an IPv4 one without its IPv6 mapping (`::ffff:`). */
export function clientAddress(socket: unknown): string {
  const address = (socket as { remoteAddress?: string } | undefined)?.remoteAddress ?? '';
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}
