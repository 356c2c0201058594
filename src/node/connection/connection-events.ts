import type { ConnectionHandler, DecodeBudget, PeerError } from '../../protocol/index.js';

/**
 * What ConnectionEvents forwards to: the @internal receive members of SocketBase (socket-base.ts),
 * named here so that this file need not import it (no import circle).
 */
export interface ConnectionEventsTarget {
  _charge(bytes: number): boolean;
  _holdInput(bytes: number): DecodeBudget | undefined;
  _releaseInput(): void;
  _emitMessage(data: Buffer, isBinary: boolean): void;
  _onPingReceived(): void;
  _onPong(data: Buffer): void;
  _onCloseFrame(): void;
  emit(event: 'ping', data: Buffer): boolean;
  emit(event: 'error', error: Error): boolean;
  listenerCount(event: 'error'): number;
}

/** The protocol core's events, forwarded to the WebSocket: one small object per connection. */
export class ConnectionEvents implements ConnectionHandler {
  constructor(private readonly ws: ConnectionEventsTarget) {}
  onMessage(data: Buffer, isBinary: boolean): void {
    if (this.ws._charge(data.length)) this.ws._emitMessage(data, isBinary);
  }
  onHold(bytes: number): DecodeBudget | undefined {
    return this.ws._holdInput(bytes);
  }
  onRelease(): void {
    this.ws._releaseInput();
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
