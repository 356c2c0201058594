/**
 * Drives a python-websockets peer (test/interop/peers/*.py) as a child process: JSON commands
 * on its stdin, JSON events from its stdout (see peers/common.py for the vocabulary).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EVENT_TIMEOUT, withTimeout } from './helpers.js';

/** Debian's interpreter, which has python3-websockets; the first `python3` on PATH may not. */
export const PYTHON = '/usr/bin/python3';

/**
 * The peers' folder. This module runs compiled from build/test/interop/ while the .py files
 * stay in test/interop/peers/, so walk up from here to the folder that holds them.
 */
export function peersDir(): string {
  const start = dirname(fileURLToPath(import.meta.url));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'test', 'interop', 'peers');
    if (existsSync(join(candidate, 'common.py'))) return candidate;
    if (dirname(dir) === dir) {
      throw new Error(`test/interop/peers/common.py not found in ${start} or any parent folder`);
    }
  }
}

/** Fails with instructions unless `/usr/bin/python3 -c 'import websockets'` works. */
export function requirePythonWebsockets(): string {
  const result = spawnSync(PYTHON, ['-c', 'import websockets; print(websockets.__version__)'], {
    encoding: 'utf8',
    cwd: peersDir(),
    timeout: 20_000,
  });
  if (result.error !== undefined || result.status !== 0) {
    const why = result.error?.message ?? result.stderr.trim();
    throw new Error(
      `the Python interop peer needs ${PYTHON} with the websockets package ` +
        `(Debian: apt-get install python3-websockets); "${PYTHON} -c 'import websockets'" failed: ${why}`,
    );
  }
  return result.stdout.trim();
}

export interface PyEvent {
  ev: string;
  id?: string;
  seq?: number;
  op?: string;
  error?: string;
  // open
  path?: string;
  subprotocol?: string | null;
  extensions?: string[];
  request_extensions?: string | null;
  response_extensions?: string | null;
  // message
  type?: 'text' | 'binary';
  len?: number;
  sha256?: string;
  b64?: string;
  // close
  code?: number;
  reason?: string;
  exception?: string;
  // done of ping / status
  latency?: number;
  open?: boolean;
  state?: string;
}

/** websockets.serve / websockets.connect settings (see peers/common.py `options`). */
export interface PyConfig {
  compression?: 'none' | 'default';
  subprotocols?: string[];
  max_size?: number | null;
  ping_interval?: number | null;
  ping_timeout?: number;
  close_timeout?: number;
}

export class PythonPeer {
  readonly events: PyEvent[] = [];
  private readonly wakers = new Set<() => void>();
  private readonly cursors = new Map<string, number>();
  private stderr = '';
  private exited: string | undefined;
  private seq = 0;

  private constructor(
    readonly label: string,
    private readonly child: ChildProcessWithoutNullStreams,
    readonly port: number,
  ) {
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    child.on('exit', (code, signal) => {
      this.exited = signal ?? `code ${code}`;
      this.wake();
    });
  }

  /** Spawns `peers/<script>` with a JSON config argument and waits for its "READY <port>" line. */
  static async start(
    script: 'server.py' | 'client.py',
    config: PyConfig = {},
  ): Promise<PythonPeer> {
    const dir = peersDir();
    const child = spawn(PYTHON, [join(dir, script), JSON.stringify(config)], {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, PYTHONUNBUFFERED: '1', PYTHONDONTWRITEBYTECODE: '1' },
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    const collect = (chunk: string) => {
      stderr += chunk;
    };
    child.stderr.on('data', collect);
    const lines = createInterface({ input: child.stdout, crlfDelay: Number.POSITIVE_INFINITY });
    const label = `python ${script} ${JSON.stringify(config)}`;
    let peer: PythonPeer | undefined;
    const ready = new Promise<PythonPeer>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) =>
        reject(new Error(`${label} exited (${signal ?? code}) before READY; stderr:\n${stderr}`)),
      );
      lines.on('line', (line) => {
        if (peer !== undefined) {
          peer.receive(line);
          return;
        }
        const match = /^READY (\d+)$/.exec(line);
        if (match === null) {
          reject(new Error(`${label} printed "${line}" instead of READY; stderr:\n${stderr}`));
          return;
        }
        child.stderr.off('data', collect);
        peer = new PythonPeer(label, child, Number(match[1]));
        peer.stderr = stderr;
        resolve(peer);
      });
    });
    try {
      return await withTimeout(ready, 15_000, `${label} to print READY`);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  private receive(line: string): void {
    let event: PyEvent;
    try {
      event = JSON.parse(line) as PyEvent;
    } catch {
      event = { ev: 'garbage', error: line };
    }
    this.events.push(event);
    this.wake();
  }

  private wake(): void {
    for (const wake of this.wakers) wake();
  }

  /** Sends a command without waiting; returns its sequence number. */
  send(command: Record<string, unknown>): number {
    const seq = ++this.seq;
    this.child.stdin.write(`${JSON.stringify({ ...command, seq })}\n`);
    return seq;
  }

  /** Sends a command and waits until the peer reports it done (rejects if it failed). */
  async call(command: Record<string, unknown>, ms = EVENT_TIMEOUT): Promise<PyEvent> {
    const seq = this.send(command);
    const what = `${JSON.stringify(command).slice(0, 120)} to finish`;
    const event = await this.until(
      what,
      (e) => e.seq === seq && (e.ev === 'done' || e.ev === 'error'),
      ms,
    );
    if (event.ev === 'error') throw new Error(`python ${command.op} failed: ${event.error}`);
    return event;
  }

  /** The first event (from the start) that matches. */
  until(what: string, match: (event: PyEvent) => boolean, ms = EVENT_TIMEOUT): Promise<PyEvent> {
    return this.untilFound(what, () => this.events.find(match), ms);
  }

  /**
   * The first matching event, with no time limit: for racing against something else. Settles
   * (rejected, quietly) when `signal` aborts, so nothing is left waiting.
   */
  watch(match: (event: PyEvent) => boolean, signal: AbortSignal): Promise<PyEvent> {
    let wake!: () => void;
    const found = new Promise<PyEvent>((resolve, reject) => {
      wake = () => {
        const event = this.events.find(match);
        if (event !== undefined) resolve(event);
        else if (signal.aborted) reject(signal.reason);
      };
      this.wakers.add(wake);
      signal.addEventListener('abort', wake, { once: true });
      wake();
    }).finally(() => this.wakers.delete(wake));
    found.catch(() => {});
    return found;
  }

  /** Waits until `find` returns an event; fails early if the peer exits first. */
  private untilFound(
    what: string,
    find: () => PyEvent | undefined,
    ms = EVENT_TIMEOUT,
  ): Promise<PyEvent> {
    const now = find();
    if (now !== undefined) return Promise.resolve(now);
    let wake!: () => void;
    const found = new Promise<PyEvent>((resolve, reject) => {
      wake = () => {
        const event = find();
        if (event !== undefined) resolve(event);
        else if (this.exited !== undefined) {
          reject(
            new Error(
              `${this.label} exited (${this.exited}) before ${what}; stderr:\n${this.stderr}`,
            ),
          );
        }
      };
      this.wakers.add(wake);
      wake();
    });
    return withTimeout(found, ms, `${what} from ${this.label}`).finally(() =>
      this.wakers.delete(wake),
    );
  }

  opened(id: string, ms?: number): Promise<PyEvent> {
    return this.until(`open of ${id}`, (e) => e.ev === 'open' && e.id === id, ms);
  }

  closed(id: string, ms?: number): Promise<PyEvent> {
    return this.until(`close of ${id}`, (e) => e.ev === 'close' && e.id === id, ms);
  }

  /** The next `message` event of connection `id` not yet taken. */
  async nextMessage(id: string, ms?: number): Promise<PyEvent> {
    const taken = this.cursors.get(id) ?? 0;
    const event = await this.untilFound(
      `message #${taken + 1} of ${id}`,
      () => {
        let index = 0;
        for (const e of this.events) {
          if (e.ev === 'message' && e.id === id && index++ === taken) return e;
        }
        return undefined;
      },
      ms,
    );
    this.cursors.set(id, taken + 1);
    return event;
  }

  /** The next `count` message events of connection `id`. */
  async nextMessages(id: string, count: number, ms?: number): Promise<PyEvent[]> {
    const taken = this.cursors.get(id) ?? 0;
    let found: PyEvent[] = [];
    await this.untilFound(
      `${count} messages of ${id}`,
      () => {
        found = this.events.filter((e) => e.ev === 'message' && e.id === id);
        return found.length >= taken + count ? found[taken + count - 1] : undefined;
      },
      ms,
    );
    this.cursors.set(id, taken + count);
    return found.slice(taken, taken + count);
  }

  /** Whether the process has exited (and how). */
  get exitStatus(): string | undefined {
    return this.exited;
  }

  kill(): void {
    if (this.exited === undefined) this.child.kill('SIGKILL');
  }

  /** Closes its stdin (the peer then exits); kills it if it lingers. */
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end();
    try {
      await withTimeout(exited, 5000, `${this.label} to exit`);
    } catch {
      this.child.kill('SIGKILL');
      await exited;
    }
  }
}
