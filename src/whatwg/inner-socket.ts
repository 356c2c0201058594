import { WebSocket as NodeWebSocket } from '../node/index.js';

/**
 * tsws's client under a WHATWG facade. The facade also needs to know when the server starts
 * the closing handshake (WebSockets "when the WebSocket closing handshake is started": the
 * ready state becomes CLOSING), which the ws-style events do not tell.
 */
export class InnerSocket extends NodeWebSocket {
  onClosingHandshake: (() => void) | undefined;

  override _onCloseFrame(): void {
    this.onClosingHandshake?.();
  }
}
