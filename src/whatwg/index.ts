export { CloseEvent, type CloseEventInit } from './close-event.js';
export { WebSocket, type WebSocketEventMap, type WebSocketOptions } from './websocket.js';
export { type WebSocketCloseInfo, WebSocketError } from './websocket-error.js';
export {
  type WebSocketOpenInfo,
  WebSocketStream,
  type WebSocketStreamOptions,
} from './websocket-stream.js';
