export type { OriginPattern } from '../handshake/origin-policy.js';
export type {
  CoalesceOptions,
  PublishData,
  PubSubOptions,
  ReplayResult,
  SubscribeOptions,
} from '../pubsub/server-pubsub.js';
export type { ClientOptions } from './client/client-options.js';
export {
  DEFAULT_HEARTBEAT,
  FAST_HEARTBEAT,
  type HeartbeatOptions,
} from './connection/heartbeat.js';
export {
  DEFAULT_MEMORY_BUDGET,
  MemoryAccount,
  MemoryBudget,
  type MemoryPolicy,
  processMemoryBudget,
} from './connection/memory-budget.js';
export type {
  BinaryType,
  ConnectionSettings,
  SendData,
  SendOptions,
} from './connection/options.js';
export {
  type ServerOptions,
  type VerifyClient,
  type VerifyClientCallback,
  type VerifyClientInfo,
  WebSocketServer,
  type WebSocketServerEvents,
} from './server/server.js';
export { UpgradeRejection } from './server/upgrade-rejection.js';
export { createWebSocketStream } from './stream.js';
export { workerId } from './transport/shared-listen.js';
export {
  type PublishOptions,
  type RawData,
  WebSocket,
  type WebSocketEvents,
} from './websocket.js';
export {
  type PoolResult,
  WorkerPool,
  type WorkerPoolEvents,
  type WorkerPoolOptions,
} from './workers/worker-pool.js';
