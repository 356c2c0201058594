export type { PerMessageDeflateOptions } from './extensions/index.js';
export { HandshakeError } from './handshake/index.js';
export * from './node/index.js';
export {
  CloseCode,
  ErrorCode,
  isValidCloseCode,
  Opcode,
  PeerError,
  UsageError,
  WebSocketError,
} from './protocol/index.js';

import { WebSocketServer } from './node/server/server.js';
import { createWebSocketStream } from './node/stream.js';
import { WebSocket } from './node/websocket.js';

/** ws's default-export shape: `import WebSocket from 'tsws'` with `WebSocket.Server` etc. */
const DefaultWebSocket = WebSocket as typeof WebSocket & {
  WebSocket: typeof WebSocket;
  WebSocketServer: typeof WebSocketServer;
  Server: typeof WebSocketServer;
  createWebSocketStream: typeof createWebSocketStream;
};
Object.assign(DefaultWebSocket, {
  WebSocket,
  WebSocketServer,
  Server: WebSocketServer,
  createWebSocketStream,
});
export default DefaultWebSocket;
export {
  type AdapterSink,
  compareSeq,
  type Delivery,
  type History,
  LocalAdapter,
  type LocalAdapterOptions,
  type PubSubAdapter,
  type PubSubMessage,
  type UndeliveredReport,
  WorkerAdapter,
  type WorkerAdapterOptions,
} from './pubsub/index.js';
/** ws's alias for WebSocketServer. */
export { WebSocketServer as Server };
