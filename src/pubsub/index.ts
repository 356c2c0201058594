export type {
  AdapterSink,
  Delivery,
  History,
  PubSubAdapter,
  PubSubMessage,
  UndeliveredReport,
} from './adapter.js';
export { sequencedText } from './envelope.js';
export { type IpcChannel, IpcLogBackend } from './ipc/ipc-log-backend.js';
export { IpcLogHub, type IpcLogHubOptions, type WorkerSend } from './ipc/ipc-log-hub.js';
export { WorkerAdapter, type WorkerAdapterOptions } from './ipc/worker-adapter.js';
export { LocalAdapter, type LocalAdapterOptions } from './local-adapter.js';
export { LogAdapter, type LogAdapterOptions } from './log-adapter.js';
export type { LogBackend, LogEntry, LogFeed, LogRecord } from './log-backend.js';
export { compareSeq, FIRST_PREV, follows, isSeq, replayComplete } from './seq.js';
export { type FeedOutput, TopicFeed } from './topic-feed.js';
export { Change, TopicRegistry } from './topic-registry.js';
