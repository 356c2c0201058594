export type { ClientOptions } from './client-options.js';
export {
  DEFAULT_HEARTBEAT,
  FAST_HEARTBEAT,
  type HeartbeatOptions,
} from './heartbeat.js';
export {
  DEFAULT_MEMORY_BUDGET,
  MemoryAccount,
  MemoryBudget,
  type MemoryPolicy,
  processMemoryBudget,
} from './memory-budget.js';
export type { BinaryType, ConnectionSettings, SendData, SendOptions } from './options.js';
export {
  type ServerOptions,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientInfo,
  WebSocketServer,
  type WebSocketServerEvents,
} from './server.js';
export type {
  PublishData,
  PublishOptions,
  PubSubOptions,
  ReplayResult,
  SubscribeOptions,
} from './server-pubsub.js';
export { createWebSocketStream } from './stream.js';
export type { OriginPattern } from './upgrade-origins.js';
export { UpgradeRejection } from './upgrade-rejection.js';
export { type RawData, WebSocket, type WebSocketEvents } from './websocket.js';
