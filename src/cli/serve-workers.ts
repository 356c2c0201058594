import type { PubSubOptions, WebSocketServer } from '../node/index.js';
import { workerId } from '../node/transport/shared-listen.js';
import { type PoolResult, WorkerPool } from '../node/workers/worker-pool.js';
import { WorkerAdapter } from '../pubsub/ipc/worker-adapter.js';
import { CHAT_HISTORY, CHAT_HISTORY_BYTES } from './chat.js';
import { listenErrorLine } from './listen-error.js';
import type { EchoServerOptions } from './serve.js';
import { UsageFault } from './usage-fault.js';

/** The number of `--workers N` (1 to 1024). */
export function workerCount(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 1024) {
    throw new UsageFault(`--workers takes a whole number from 1 to 1024, not ${value}`);
  }
  return n;
}

/** The arguments of `tsws serve` without `--workers N` (what each worker runs). */
function workerArgs(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--workers') i++;
    else if (!args[i]!.startsWith('--workers=')) out.push(args[i]!);
  }
  return ['serve', ...out];
}

/**
 * `tsws serve --workers N`, the primary: binds the port once, starts N workers that each run
 * `tsws serve` on it (the same flags), relays the chat rooms between them (unless --redis),
 * restarts a worker that crashes, and stops them all on SIGTERM or SIGINT. Exit status: 0
 * when every worker stopped in time, 1 when one had to be killed or kept crashing (or the
 * port could not be bound).
 */
export async function serveWorkers(
  args: string[],
  workers: number,
  options: EchoServerOptions,
  sharedRooms: boolean,
): Promise<number> {
  const closeTimeout = options.settings?.closeTimeout ?? 30_000;
  const pool = new WorkerPool({
    workers,
    args: workerArgs(args),
    pubsub: sharedRooms ? { history: CHAT_HISTORY, historyBytes: CHAT_HISTORY_BYTES } : undefined,
    stopTimeout: closeTimeout + 5000,
  });
  let port: number;
  try {
    port = await pool.listen(options.port, options.host);
  } catch (error) {
    const line = listenErrorLine(error, options.port, options.host);
    if (line === undefined) throw error;
    throw new Error(line);
  }
  pool.on('online', (id, pid) => process.stdout.write(`worker ${id} started (pid ${pid})\n`));
  pool.on('listening', (id, pid) => process.stdout.write(`worker ${id} listening (pid ${pid})\n`));
  pool.on('exit', (id, pid, code, signal) => {
    if (stopping) return;
    process.stderr.write(`tsws: worker ${id} (pid ${pid}) exited (${signal ?? `code ${code}`})\n`);
  });
  pool.on('restart', (id, delay) => {
    process.stderr.write(`tsws: restarting worker ${id} in ${delay} ms\n`);
  });
  let stopping = false;
  const stop = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    stopping = true;
    process.stdout.write('shutting down\n');
    void pool.stop();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const done = new Promise<PoolResult>((resolve) => pool.once('done', resolve));
  // Told once every worker accepts (a connection before that would be refused).
  void pool.ready().then(() => {
    const shown = options.host === undefined || options.host === '0.0.0.0' || options.host === '::';
    const host = shown
      ? 'localhost'
      : options.host!.includes(':')
        ? `[${options.host}]`
        : options.host;
    process.stdout.write(
      `tsws echo server: ${workers} workers on ${options.host ?? 'every interface'}, port ${port}\n` +
        `  http://${host}:${port}/ (demo page), ws://${host}:${port}/ (echo on any path)\n`,
    );
  });
  pool.start();
  const result = await done;
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  if (result.reason === 'failed') {
    process.stderr.write('tsws: a worker kept crashing; stopped every worker\n');
    return 1;
  }
  if (!result.clean) process.stderr.write('tsws: a worker did not stop cleanly\n');
  return result.clean ? 0 : 1;
}

/** In a worker of `tsws serve --workers`: its number, else undefined. */
export const serveWorkerId = workerId;

/** A worker's chat rooms: shared with the other workers through the primary. */
export function workerRooms(maxMessage: number): PubSubOptions {
  return { adapter: new WorkerAdapter({ maxMessage }) };
}

/**
 * A worker's part: each handshake answer says which worker took it (`X-Tsws-Worker: ID PID`),
 * and the worker stops (as on SIGTERM) when its primary goes away.
 */
export function asWorker(wss: WebSocketServer, id: number, stop: () => void): () => void {
  wss.on('headers', (lines) => lines.push(`X-Tsws-Worker: ${id} ${process.pid}`));
  process.once('disconnect', stop);
  // Listening for `disconnect` keeps the channel (and the process) alive: undone at the stop.
  return () => process.off('disconnect', stop);
}
