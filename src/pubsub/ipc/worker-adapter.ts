import { LogAdapter, type LogAdapterOptions } from '../log-adapter.js';
import { type IpcChannel, IpcLogBackend } from './ipc-log-backend.js';

export interface WorkerAdapterOptions extends Omit<LogAdapterOptions, 'origin'> {
  /** The channel to the primary. Default: `process` (a worker forked by WorkerPool). */
  channel?: IpcChannel;
}

/**
 * Pub/sub between the workers of one WorkerPool on one machine, without any external
 * service: the primary keeps each topic's log (IpcLogHub) and relays every publish to the
 * workers that subscribe, the publisher's too. The guarantees are the log adapter's: one order
 * per topic in every worker, each message once per subscriber (an own publish too), `except`
 * honoured, `replay` from the history the pool keeps (`WorkerPool`'s `pubsub.history`).
 * Across machines, use the Redis adapter (`tsws/redis`).
 */
export class WorkerAdapter extends LogAdapter {
  constructor(options: WorkerAdapterOptions = {}) {
    const { channel, ...rest } = options;
    super(new IpcLogBackend(channel ?? (process as unknown as IpcChannel)), {
      origin: `${process.pid}`,
      ...rest,
    });
  }
}
