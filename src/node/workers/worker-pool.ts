import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { ErrorCode, UsageError } from '../../protocol/errors.js';
import { IpcLogHub, type IpcLogHubOptions } from '../../pubsub/ipc/ipc-log-hub.js';
import type { ListeningNote, ListenReply, ListenRequest } from '../transport/shared-listen.js';
import { WORKER_ENV } from '../transport/shared-listen.js';
import { ListenHandles, portOf } from './listen-handles.js';

export interface WorkerPoolOptions {
  /** Processes to run (at least 1). */
  workers: number;
  /** The module each worker runs. Default: this program (`process.argv[1]`). */
  script?: string;
  /** Its arguments. Default: this program's. */
  args?: string[];
  /** Node's flags for the workers. Default: this process's (`process.execArgv`). */
  execArgv?: string[];
  /** The workers' environment (`TSWS_WORKER_ID` is added). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The history the primary keeps for WorkerAdapter's `replay` (see IpcLogHub). */
  pubsub?: IpcLogHubOptions;
  /** Milliseconds a worker has to stop after SIGTERM before SIGKILL. Default 35000. */
  stopTimeout?: number;
  /** First restart delay after a crash, doubled at each crash in a row. Default 100. */
  restartDelay?: number;
  /** Longest restart delay. Default 10000. */
  maxRestartDelay?: number;
  /** Crashes in a row (each within 10 s of its start) before the pool gives up. Default 10. */
  maxRestarts?: number;
}

/** How the pool ended: `stopped` by stop(), or `failed` (workers kept crashing). */
export interface PoolResult {
  readonly reason: 'stopped' | 'failed';
  /** Every worker stopped by itself within stopTimeout (none killed, none failed). */
  readonly clean: boolean;
}

export interface WorkerPoolEvents {
  /** A worker (its number from 1) was started. */
  online: [id: number, pid: number];
  /** A worker listens (accepts connections) on a socket of the pool: one per listen. */
  listening: [id: number, pid: number, port: number];
  /** A worker exited (unexpectedly unless the pool is stopping). */
  exit: [id: number, pid: number, code: number | null, signal: NodeJS.Signals | null];
  /** A crashed worker will be started again after `delay` ms. */
  restart: [id: number, delay: number];
  /** The pool stopped (every worker exited). */
  done: [result: PoolResult];
}

/** A crash in a row only if the worker ran less than this. */
const STABLE_MS = 10_000;

interface Slot {
  readonly id: number;
  child: ChildProcess | undefined;
  startedAt: number;
  crashes: number;
  timer: NodeJS.Timeout | undefined;
}

/**
 * N worker processes serving one port, each with the standalone server's fast path: the
 * primary binds each address once and hands the socket to every worker that listens on it
 * (`new WebSocketServer({ port })` in a worker asks for it), so the kernel spreads the
 * connections over the workers that accept; pub/sub between them goes through the primary
 * (WorkerAdapter). A worker that crashes is started again after a delay that doubles at each
 * crash in a row; `stop()` sends SIGTERM to each (a server closes its connections with 1001)
 * and SIGKILL to one that has not exited within `stopTimeout`.
 */
export class WorkerPool extends EventEmitter<WorkerPoolEvents> {
  readonly hub: IpcLogHub;
  private readonly options: Required<Omit<WorkerPoolOptions, 'pubsub' | 'env'>> & {
    env: NodeJS.ProcessEnv;
  };
  private readonly handles = new ListenHandles();
  private readonly slots: Slot[] = [];
  private stopping: Promise<PoolResult> | undefined;
  private resolveDone: ((result: PoolResult) => void) | undefined;
  private clean = true;
  /** Workers (by number) that have listened at least once. */
  private readonly listened = new Set<number>();
  private failed = false;

  constructor(options: WorkerPoolOptions) {
    super();
    if (!(Number.isInteger(options.workers) && options.workers >= 1)) {
      throw new TypeError('workers must be an integer >= 1');
    }
    this.options = {
      workers: options.workers,
      script: options.script ?? process.argv[1]!,
      args: options.args ?? process.argv.slice(2),
      execArgv: options.execArgv ?? process.execArgv,
      env: options.env ?? process.env,
      stopTimeout: options.stopTimeout ?? 35_000,
      restartDelay: options.restartDelay ?? 100,
      maxRestartDelay: options.maxRestartDelay ?? 10_000,
      maxRestarts: options.maxRestarts ?? 10,
    };
    this.hub = new IpcLogHub(options.pubsub);
  }

  /**
   * Binds `host`:`port` now (the workers that listen there get this socket): a bind failure
   * is told here, once, rather than by every worker. Resolves with the port bound.
   */
  async listen(port: number, host?: string): Promise<number> {
    return portOf(await this.handles.get(host, port)) ?? port;
  }

  /** Starts the workers. */
  start(): void {
    if (this.slots.length > 0 || this.stopping !== undefined) {
      throw new UsageError(ErrorCode.InvalidState, 'the pool was started already');
    }
    for (let id = 1; id <= this.options.workers; id++) {
      const slot: Slot = { id, child: undefined, startedAt: 0, crashes: 0, timer: undefined };
      this.slots.push(slot);
      this.spawn(slot);
    }
  }

  /** Resolves once every worker has listened (its first start). */
  ready(): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.listened.size < this.options.workers) return;
        this.off('listening', check);
        resolve();
      };
      this.on('listening', check);
      check();
    });
  }

  /** The pids of the running workers. */
  get pids(): number[] {
    return this.slots.flatMap((slot) => (slot.child?.pid === undefined ? [] : [slot.child.pid]));
  }

  /** Stops every worker (SIGTERM, then SIGKILL after stopTimeout); resolves once all exited. */
  stop(): Promise<PoolResult> {
    if (this.stopping !== undefined) return this.stopping;
    this.stopping = new Promise<PoolResult>((resolve) => {
      this.resolveDone = resolve;
    });
    for (const slot of this.slots) {
      if (slot.timer !== undefined) clearTimeout(slot.timer);
      slot.timer = undefined;
      const child = slot.child;
      if (child === undefined) continue;
      child.kill('SIGTERM');
      const kill = setTimeout(() => {
        this.clean = false;
        child.kill('SIGKILL');
      }, this.options.stopTimeout);
      kill.unref();
      child.once('exit', () => clearTimeout(kill));
    }
    this.settle();
    return this.stopping;
  }

  private spawn(slot: Slot): void {
    const child = fork(this.options.script, this.options.args, {
      execArgv: this.options.execArgv,
      env: { ...this.options.env, [WORKER_ENV]: String(slot.id) },
      // Buffers cross the channel as they are (pub/sub), and a handle can go with a message.
      serialization: 'advanced',
      // Its own process group: a terminal's Ctrl-C reaches the primary, which stops the
      // workers once (a second signal would end a worker's graceful close).
      detached: true,
      stdio: 'inherit',
    });
    slot.child = child;
    slot.startedAt = Date.now();
    const id = slot.id;
    this.hub.attach(id, (message) => {
      if (child.connected) child.send(message);
    });
    child.on('message', (message: unknown) => {
      // What a worker that exited still had on its way is not the new one's.
      if (slot.child !== child) return;
      const tsws = (message as { tsws?: unknown } | null)?.tsws;
      if (tsws === 'listen') {
        void this.answerListen(child, message as ListenRequest);
      } else if (tsws === 'listening') {
        const port = (message as ListeningNote).port;
        this.listened.add(id);
        this.emit('listening', id, child.pid ?? 0, port);
      } else {
        this.hub.receive(id, message);
      }
    });
    // A send to a worker that is going: its exit is what matters.
    child.on('error', () => {});
    child.once('exit', (code, signal) => this.exited(slot, child, code, signal));
    if (child.pid !== undefined) this.emit('online', id, child.pid);
  }

  private async answerListen(child: ChildProcess, request: ListenRequest): Promise<void> {
    let reply: ListenReply;
    try {
      const handle = await this.handles.get(request.host, request.port);
      reply = { tsws: 'listen', id: request.id };
      if (child.connected) child.send(reply, handle as never);
      return;
    } catch (error) {
      const { message, code, errno, syscall } = error as NodeJS.ErrnoException;
      reply = { tsws: 'listen', id: request.id, error: { message, code, errno, syscall } };
    }
    if (child.connected) child.send(reply);
  }

  private exited(
    slot: Slot,
    child: ChildProcess,
    code: number | null,
    signal: NodeJS.Signals | null,
  ): void {
    this.hub.detach(slot.id);
    if (slot.child === child) slot.child = undefined;
    this.emit('exit', slot.id, child.pid ?? 0, code, signal);
    if (this.stopping !== undefined) {
      if (code !== 0 && signal !== 'SIGTERM') this.clean = false;
      this.settle();
      return;
    }
    // A crash (any exit the pool did not ask for): start it again, later each time in a row.
    slot.crashes = Date.now() - slot.startedAt >= STABLE_MS ? 1 : slot.crashes + 1;
    if (slot.crashes > this.options.maxRestarts) {
      this.failed = true;
      this.clean = false;
      void this.stop();
      return;
    }
    const delay = Math.min(
      this.options.restartDelay * 2 ** (slot.crashes - 1),
      this.options.maxRestartDelay,
    );
    this.emit('restart', slot.id, delay);
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.stopping === undefined) this.spawn(slot);
    }, delay);
  }

  /** Once stopping and no worker is left: the sockets close and the pool is done. */
  private settle(): void {
    if (this.slots.some((slot) => slot.child !== undefined)) return;
    const resolve = this.resolveDone;
    if (resolve === undefined) return;
    this.resolveDone = undefined;
    this.handles.close();
    const result: PoolResult = { reason: this.failed ? 'failed' : 'stopped', clean: this.clean };
    process.nextTick(() => {
      resolve(result);
      this.emit('done', result);
    });
  }
}
