import type { Duplex } from 'node:stream';
import { StreamTransport } from './stream-transport.js';
import type { Transport } from './transport.js';

/**
 * A connection whose opening handshake the server is deciding on: a Duplex handed over by an
 * HTTP server, or a raw TCP connection of the standalone fast path.
 */
export interface UpgradeSocket {
  /** What `wsClientError` listeners receive (a Duplex, or a minimal object with write/end/destroy). */
  readonly socket: Duplex;
  /** Still connected both ways (the peer may leave while an asynchronous check runs). */
  readonly open: boolean;
  /** Set once the 101 went out: a second upgrade of the same socket is a bug. */
  upgraded: boolean;
  /** Writes a refusal, then closes. */
  refuse(response: string): void;
  /**
   * Writes the 101 and hands the connection over, with `head` (bytes read past the request)
   * and whatever else the socket already read.
   */
  accept(response: string, head: Buffer): { transport: Transport; head: Buffer };
  destroy(): void;
}

const kUpgraded = Symbol('tsws.upgraded');
type Marked = Duplex & { [kUpgraded]?: boolean };

export class DuplexUpgradeSocket implements UpgradeSocket {
  readonly socket: Duplex;

  constructor(socket: Duplex) {
    this.socket = socket;
    socket.on('error', onHandshakeError);
    socket.on('end', onHandshakeEnd);
  }

  get open(): boolean {
    return this.socket.readable && this.socket.writable;
  }

  get upgraded(): boolean {
    return (this.socket as Marked)[kUpgraded] === true;
  }
  set upgraded(value: boolean) {
    (this.socket as Marked)[kUpgraded] = value;
  }

  refuse(response: string): void {
    const socket = this.socket;
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    socket.once('finish', () => socket.destroy());
    socket.end(response);
  }

  accept(response: string, head: Buffer): { transport: Transport; head: Buffer } {
    this.socket.write(response);
    this.socket.off('error', onHandshakeError);
    this.socket.off('end', onHandshakeEnd);
    return { transport: new StreamTransport(this.socket), head };
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function onHandshakeError(this: Duplex): void {
  this.destroy();
}

/** The peer left while the server decided on its upgrade (as the fast path does, it is let go). */
function onHandshakeEnd(this: Duplex): void {
  this.destroy();
}
