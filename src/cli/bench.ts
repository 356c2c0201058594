import { readFileSync } from 'node:fs';
import { WebSocket } from '../node/index.js';
import { BENCH_USAGE, type BenchOptions, BenchUsageError, parseBenchArgs } from './bench-args.js';
import { LatencyHistogram } from './latency-histogram.js';

export { BENCH_USAGE, type BenchOptions, BenchUsageError, parseBenchArgs } from './bench-args.js';
export { LatencyHistogram } from './latency-histogram.js';

/**
 * `tsws bench <url>`: an echo load generator, the same method as the neutral C generator
 * (shared/tools/wsload): open every connection, then keep `window` messages in flight on each —
 * send `window`, then one more for every echo received — and check each echo's length and
 * type. It measures messages/s, MiB/s (one direction) and round-trip latency.
 *
 * The engine takes the client class as a parameter, so bench/clients/ws-bench.mjs runs exactly
 * this code on ws's client: the only difference between the two is the WebSocket under test.
 */

/** The result, with the same key names as wsload's JSON line where the figure is the same. */
export interface BenchResult {
  mode: 'echo';
  tool: string;
  client: string;
  url: string;
  conns: number;
  conns_open: number;
  size: number;
  window: number;
  type: 'binary' | 'text';
  warmup_s: number;
  duration_s: number;
  msgs: number;
  msgs_per_s: number;
  MiB_per_s: number;
  lat_p50_us: number;
  lat_p99_us: number;
  lat_p999_us: number;
  lat_max_us: number;
  lat_mean_us: number;
  /** Failed connections, connections closed before the end, wrong echoes, error events. */
  errors: number;
  /** Connections that closed before the end (also counted in `errors`). */
  closed: number;
  /** This process's CPU time / wall time over the measured window (100 = one core busy). */
  client_cpu_pct: number;
  /** Stopped early by SIGINT. */
  interrupted: boolean;
}

/** The part of a ws-compatible WebSocket the generator uses. */
export interface BenchSocket {
  binaryType: string;
  on(event: string, listener: (...args: never[]) => void): unknown;
  send(data: Buffer | string): void;
  close(code?: number): void;
  terminate(): void;
}

/** The client under test: its class, the options given to each connection, and its name. */
export interface BenchClient {
  /** For example `tsws 0.1.0` or `ws 8.18.0 + bufferutil`. */
  name: string;
  /** Prefix of messages and the `tool` field, e.g. `tsws bench`. */
  tool: string;
  WebSocket: new (url: string, options?: Record<string, unknown>) => BenchSocket;
  options?: Record<string, unknown>;
}

/** The default client: tsws's own, without heartbeat pings. */
export function tswsClient(): BenchClient {
  return {
    name: `tsws ${packageVersion()}`,
    tool: 'tsws bench',
    WebSocket: WebSocket as unknown as BenchClient['WebSocket'],
    options: { handshakeTimeout: 10_000, heartbeat: false },
  };
}

// ---- the run ----

const OPENING = 0;
const WARMUP = 1;
const MEASURE = 2;
const DONE = 3;

/** Handshakes in flight while opening, as wsload's --burst. */
const OPEN_BURST = 256;
/** Give up on connections not open after this long (and go on with those that are). */
const OPEN_DEADLINE_MS = 30_000;
/** After the run: time for the closing handshakes before the rest are terminated. */
const CLOSE_DEADLINE_MS = 5_000;

/** Where progress and diagnostics go. */
export interface BenchIo {
  stderr: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Show progress `\r`-updated on one line (a terminal) rather than one line a second. */
  tty: boolean;
}

/** Runs the load and resolves with the figures. Never rejects for peer or network faults. */
export function runBench(
  options: BenchOptions,
  client: BenchClient,
  io: BenchIo = { stderr: process.stderr, tty: process.stderr.isTTY === true },
): Promise<BenchResult> {
  return new Promise((resolve) => {
    const { connections, window, size } = options;
    const binary = !options.text;
    const payload: Buffer | string = binary ? binaryPayload(size) : textPayload(size);
    const hist = new LatencyHistogram();
    const sockets: (BenchSocket | undefined)[] = [];
    const rings: Float64Array[] = [];
    const isOpen: boolean[] = [];
    let phase = OPENING;
    let started = 0;
    let opened = 0;
    let failed = 0;
    let closedEarly = 0;
    let faults = 0;
    let shown = 0;
    let msgs = 0;
    let warmupMsgs = 0;
    let measureStart = 0;
    let measureEnd = 0;
    let cpuStart = process.cpuUsage();
    let cpuUsed = 0;
    let interrupted = false;
    let closing = 0;
    let finished = false;
    const t0 = performance.now();
    let phaseTimer: NodeJS.Timeout | undefined;
    let progressTimer: NodeJS.Timeout | undefined;
    let openTimer: NodeJS.Timeout | undefined;
    let lastProgressMsgs = 0;
    let lastProgressAt = t0;
    let progressShown = false;
    let firstOpenError: string | undefined;

    const say = (line: string) => {
      if (progressShown) io.stderr.write('\n');
      progressShown = false;
      io.stderr.write(`${client.tool}: ${line}\n`);
    };
    /** Reports the first few problems; `count` adds one to the errors. */
    const fault = (line: string, count = true) => {
      if (count) faults++;
      if (shown < 10) say(line);
      else if (shown === 10) say('(further errors are only counted)');
      shown++;
    };

    const connect = (index: number) => {
      started++;
      let ws: BenchSocket;
      try {
        ws = new client.WebSocket(options.url, client.options);
      } catch (error) {
        failed++;
        fault(`conn ${index}: ${(error as Error).message}`, false);
        return;
      }
      ws.binaryType = 'nodebuffer';
      sockets[index] = ws;
      isOpen[index] = false;
      // One ring of send times per connection. The window is constant, so the slot of the echo
      // that just came back takes the time of the message sent in its place: FIFO order holds.
      const sent = new Float64Array(window);
      rings[index] = sent;
      let slot = 0;
      const onMessage = (data: Buffer, isBinary: boolean) => {
        const now = performance.now();
        if (phase === DONE) return;
        if (data.length !== size || isBinary !== binary) {
          fault(
            `conn ${index}: wrong echo: ${data.length} bytes ${isBinary ? 'binary' : 'text'}, ` +
              `want ${size} bytes ${binary ? 'binary' : 'text'}`,
          );
        }
        hist.record(Math.round((now - sent[slot]!) * 1e6));
        msgs++;
        sent[slot] = now;
        if (++slot === window) slot = 0;
        ws.send(payload);
      };
      ws.on('message', onMessage);
      ws.on('open', () => {
        if (phase !== OPENING) {
          ws.terminate(); // opened after the deadline: not part of the run
          return;
        }
        isOpen[index] = true;
        opened++;
        next();
      });
      ws.on('error', (error: Error) => {
        // While opening, a failure is counted once, by its close below; it is only reported
        // while some connection opens (when none does, one line says why, in startLoad).
        if (phase === OPENING && opened === 0) firstOpenError ??= error.message;
        else if (phase !== DONE) fault(`conn ${index}: ${error.message}`, phase !== OPENING);
      });
      ws.on('close', (code: number) => {
        if (!isOpen[index]) {
          if (phase === OPENING) {
            failed++;
            next();
          }
          return;
        }
        isOpen[index] = false;
        if (phase !== DONE) {
          closedEarly++;
          fault(`conn ${index}: closed during the run (code ${code})`, false);
        } else if (--closing === 0) {
          finish();
        }
      });
    };

    const next = () => {
      while (started < connections && started - opened - failed < OPEN_BURST) connect(started);
      if (opened + failed === connections) startLoad();
    };

    const startLoad = () => {
      if (openTimer !== undefined) clearTimeout(openTimer);
      openTimer = undefined;
      if (opened === 0) {
        say(
          `cannot connect to ${options.url}: ${firstOpenError ?? 'no connection could be opened'}`,
        );
        stop();
        return;
      }
      phase = WARMUP;
      const now = performance.now();
      for (let i = 0; i < sockets.length; i++) {
        const ws = sockets[i];
        if (ws === undefined || !isOpen[i]) continue;
        rings[i]!.fill(now);
        for (let k = 0; k < window; k++) ws.send(payload);
      }
      if (options.warmup > 0) phaseTimer = setTimeout(startMeasure, options.warmup * 1000);
      else startMeasure();
    };

    const startMeasure = () => {
      phase = MEASURE;
      warmupMsgs = msgs;
      msgs = 0;
      hist.reset();
      measureStart = performance.now();
      cpuStart = process.cpuUsage();
      phaseTimer = setTimeout(stop, options.duration * 1000);
    };

    const stop = () => {
      if (phase === DONE) return;
      if (phaseTimer !== undefined) clearTimeout(phaseTimer);
      if (openTimer !== undefined) clearTimeout(openTimer);
      phaseTimer = undefined;
      openTimer = undefined;
      const measured = phase === MEASURE;
      phase = DONE;
      measureEnd = performance.now();
      if (measured) {
        const cpu = process.cpuUsage(cpuStart);
        cpuUsed = (cpu.user + cpu.system) / 1e6;
      } else {
        // Stopped before the measured window (interrupted, nothing open): nothing to report.
        msgs = 0;
        hist.reset();
        measureStart = measureEnd;
      }
      if (progressTimer !== undefined) clearInterval(progressTimer);
      progressTimer = undefined;
      if (progressShown) io.stderr.write('\n');
      progressShown = false;
      process.off('SIGINT', onSigint);
      for (let i = 0; i < sockets.length; i++) {
        const ws = sockets[i];
        if (ws === undefined) continue;
        if (isOpen[i]) {
          closing++;
          ws.close(1000);
        } else {
          ws.terminate();
        }
      }
      if (closing === 0) {
        finish();
      } else {
        phaseTimer = setTimeout(() => {
          for (let i = 0; i < sockets.length; i++) if (isOpen[i]) sockets[i]!.terminate();
          finish();
        }, CLOSE_DEADLINE_MS);
      }
    };

    const finish = () => {
      if (finished) return;
      finished = true;
      if (phaseTimer !== undefined) clearTimeout(phaseTimer);
      const secs = (measureEnd - measureStart) / 1000;
      const us = (ns: number) => round(ns / 1000, 1);
      resolve({
        mode: 'echo',
        tool: client.tool,
        client: client.name,
        url: options.url,
        conns: connections,
        conns_open: opened,
        size,
        window,
        type: binary ? 'binary' : 'text',
        warmup_s: options.warmup,
        duration_s: round(secs, 3),
        msgs,
        msgs_per_s: secs > 0 ? round(msgs / secs, 1) : 0,
        MiB_per_s: secs > 0 ? round((msgs * size) / secs / 1048576, 2) : 0,
        lat_p50_us: us(hist.quantile(0.5)),
        lat_p99_us: us(hist.quantile(0.99)),
        lat_p999_us: us(hist.quantile(0.999)),
        lat_max_us: us(hist.max),
        lat_mean_us: hist.count > 0 ? us(hist.sum / hist.count) : 0,
        errors: faults + failed + closedEarly,
        closed: closedEarly,
        client_cpu_pct: secs > 0 ? round((100 * cpuUsed) / secs, 1) : 0,
        interrupted,
      });
    };

    const onSigint = () => {
      interrupted = true;
      say('interrupted: stopping now');
      stop();
    };
    process.on('SIGINT', onSigint);

    const progress = () => {
      const now = performance.now();
      const all = warmupMsgs + msgs;
      const rate = ((all - lastProgressMsgs) * 1000) / (now - lastProgressAt);
      lastProgressMsgs = all;
      lastProgressAt = now;
      const elapsed = Math.round((now - t0) / 1000);
      let line: string;
      if (phase === OPENING) {
        line = `${elapsed} s opening: ${opened}/${connections} open, ${failed} failed`;
      } else {
        line =
          `${elapsed} s ${phase === WARMUP ? 'warm-up' : 'measuring'}: ${group(rate)} msgs/s, ` +
          `${fixed((rate * size) / 1048576, 2)} MiB/s, p50 ${fixed(hist.quantile(0.5) / 1000, 0)} µs, ` +
          `p99 ${fixed(hist.quantile(0.99) / 1000, 0)} µs, ${opened - closedEarly}/${connections} open, ` +
          `${faults + failed + closedEarly} errors`;
      }
      if (io.tty) {
        io.stderr.write(`\r${client.tool}: ${line}\x1b[K`);
        progressShown = true;
      } else {
        io.stderr.write(`${client.tool}: ${line}\n`);
      }
    };
    if (!options.quiet) progressTimer = setInterval(progress, 1000);

    openTimer = setTimeout(() => {
      openTimer = undefined;
      fault(
        `gave up after ${OPEN_DEADLINE_MS / 1000} s with ${opened} of ${connections} connections open`,
        false,
      );
      // The rest are abandoned and count as failed; the load goes on with those that are open.
      failed = connections - opened;
      started = connections;
      for (let i = 0; i < sockets.length; i++) if (!isOpen[i]) sockets[i]?.terminate();
      startLoad();
    }, OPEN_DEADLINE_MS);

    next();
  });
}

function binaryPayload(size: number): Buffer {
  const payload = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) payload[i] = (i * 31 + 7) & 0xff;
  return payload;
}

function textPayload(size: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  let text = '';
  while (text.length < size) text += alphabet;
  return text.slice(0, size);
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

function fixed(value: number, digits: number): string {
  return value.toFixed(digits);
}

/** 1234567 -> "1,234,567". */
function group(value: number): string {
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The result as a small table, for people. */
export function formatBenchResult(r: BenchResult): string {
  const ms = (us: number) => (us >= 1000 ? `${fixed(us / 1000, 2)} ms` : `${fixed(us, 0)} µs`);
  const rows: [string, string][] = [
    ['client', r.client],
    ['server', r.url],
    ['connections', `${r.conns_open} open of ${r.conns}`],
    ['in flight', `${r.window} per connection`],
    ['message', `${group(r.size)} bytes ${r.type}`],
    [
      'measured',
      `${fixed(r.duration_s, 2)} s after ${r.warmup_s} s of warm-up${r.interrupted ? ' (interrupted)' : ''}`,
    ],
    ['messages', `${group(r.msgs)} echoed`],
    ['rate', `${group(r.msgs_per_s)} msgs/s`],
    ['throughput', `${fixed(r.MiB_per_s, 2)} MiB/s each way`],
    [
      'latency',
      `p50 ${ms(r.lat_p50_us)}, p99 ${ms(r.lat_p99_us)}, p99.9 ${ms(r.lat_p999_us)}, max ${ms(r.lat_max_us)}`,
    ],
    ['client CPU', `${fixed(r.client_cpu_pct, 1)} % of one core`],
    ['errors', `${r.errors}${r.closed > 0 ? ` (${r.closed} connections closed early)` : ''}`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n')}\n`;
}

/** 0 when everything went as planned; 1 when anything failed. */
export function benchStatus(r: BenchResult): number {
  return r.errors === 0 && r.closed === 0 && r.conns_open === r.conns && r.msgs > 0 ? 0 : 1;
}

/**
 * The whole command: parse `args`, run, print (table or JSON on stdout), and resolve with the
 * exit status (2 on bad usage). `client` defaults to tsws's own.
 */
export async function benchCommand(
  args: string[],
  client: BenchClient = tswsClient(),
): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseBenchArgs(args);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`${client.tool}: ${error.message}\n\n${BENCH_USAGE}`);
    return 2;
  }
  const result = await runBench(options, client);
  // Nothing opened: the line on stderr says why; a table of zeros would say nothing more.
  if (options.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  else if (result.conns_open > 0) process.stdout.write(formatBenchResult(result));
  return benchStatus(result);
}

function packageVersion(): string {
  try {
    const url = new URL('../../package.json', import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
