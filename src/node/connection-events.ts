import type { ConnectionHandler, PeerError } from '../protocol/index.js';
import type { SocketBase } from './socket-base.js';

/** The protocol core's events, forwarded to the WebSocket: one small object per connection. */
export class ConnectionEvents implements ConnectionHandler {
  constructor(private readonly ws: SocketBase) {}
  onMessage(data: Buffer, isBinary: boolean, compressed: boolean): void {
    if (!this.ws._charge(data.length)) return;
    if (compressed) this.ws._inflate(data, isBinary);
    else this.ws._emitMessage(data, isBinary);
  }
  onPing(data: Buffer): void {
    if (!this.ws._charge(data.length)) return;
    this.ws._onPingReceived();
    this.ws.emit('ping', data);
  }
  onPong(data: Buffer): void {
    if (this.ws._charge(data.length)) this.ws._onPong(data);
  }
  onClose(): void {
    this.ws._onCloseFrame();
  }
  onError(error: PeerError): void {
    if (this.ws.listenerCount('error') > 0) this.ws.emit('error', error);
  }
}
