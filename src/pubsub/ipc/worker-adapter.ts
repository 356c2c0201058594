import type { History } from '../adapter.js';
import { LogAdapter, type LogAdapterOptions } from '../log-adapter.js';
import { replayComplete } from '../seq.js';
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
  private readonly ipc: IpcLogBackend;

  constructor(options: WorkerAdapterOptions = {}) {
    const { channel, ...rest } = options;
    const ipc = new IpcLogBackend(channel ?? (process as unknown as IpcChannel));
    super(ipc, { origin: `${process.pid}`, ...rest });
    this.ipc = ipc;
  }

  /** The replay window the primary keeps (`history` messages), not its catch-up tail. */
  override async history(topic: string, since: string): Promise<History> {
    const { entries, firstPrev } = await this.ipc.replay(topic, since);
    return {
      messages: entries.map(({ data, binary, compress, seq, prev }) => ({
        topic,
        data,
        binary,
        compress,
        seq,
        prev,
        except: undefined,
      })),
      complete: replayComplete(since, firstPrev),
    };
  }
}
