import { parseArgs } from 'node:util';
import { parseBytes } from './sizes.js';
import { UsageFault } from './usage-fault.js';

// `tsws bench`'s command line.

export const BENCH_USAGE = `Usage: tsws bench <url> [options]
  An echo load generator: opens --connections connections, keeps --window messages in flight
  on each (one more is sent for every echo received), checks every echo's length and type,
  and reports messages/s, MiB/s (one direction) and round-trip latency (p50, p99, p99.9).

  -c, --connections N   connections (default 100)
  -w, --window W        messages in flight per connection (default 16)
  -s, --size BYTES      payload bytes per message (default 16; K, M, G suffixes: 64K, 1M)
  --text                text messages with an ASCII payload (default: binary)
  -d, --duration S      measured seconds (default 10)
  --warmup S            seconds of load before measuring (default 2)
  --json                print one JSON object on stdout instead of the table
  -q, --quiet           no progress line on stderr (progress: once a second while it runs)
  Only loopback servers (127.0.0.0/8, ::1, localhost) are accepted. Exit status: 0, or 1
  when any error happened (a connection that failed, closed early, or a wrong echo); 2 on bad usage.
`;

export interface BenchOptions {
  url: string;
  connections: number;
  window: number;
  size: number;
  text: boolean;
  duration: number;
  warmup: number;
  json: boolean;
  quiet: boolean;
}

export class BenchUsageError extends UsageFault {}

export function parseBenchArgs(args: string[]): BenchOptions {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new BenchUsageError('bench takes exactly one URL');
  const url = positionals[0]!;
  checkUrl(url);
  return {
    url,
    connections: integer('--connections', values.connections, 1, 1_000_000),
    window: integer('--window', values.window, 1, 1_000_000),
    size: size(values.size),
    text: values.text,
    duration: seconds('--duration', values.duration, false),
    warmup: seconds('--warmup', values.warmup, true),
    json: values.json,
    quiet: values.quiet,
  };
}

function parse(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      connections: { type: 'string', short: 'c', default: '100' },
      window: { type: 'string', short: 'w', default: '16' },
      size: { type: 'string', short: 's', default: '16' },
      text: { type: 'boolean', default: false },
      duration: { type: 'string', short: 'd', default: '10' },
      warmup: { type: 'string', default: '2' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', short: 'q', default: false },
    },
  });
}

function integer(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new BenchUsageError(`${name} takes an integer from ${min} to ${max}: ${text}`);
  }
  return n;
}

function size(text: string): number {
  let n: number;
  try {
    n = parseBytes('size', text, { zero: true });
  } catch (error) {
    throw new BenchUsageError((error as Error).message);
  }
  if (n > 2 ** 31 - 1) throw new BenchUsageError(`--size takes at most 2G - 1 bytes: ${text}`);
  return n;
}

function seconds(name: string, text: string, zeroOk: boolean): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zeroOk) || n > 86_400) {
    throw new BenchUsageError(`${name} takes seconds${zeroOk ? '' : ' (more than 0)'}: ${text}`);
  }
  return n;
}

/** A load generator aims at servers on this machine only (as wsload does, on purpose). */
function checkUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BenchUsageError(`invalid URL: ${url}`);
  }
  if (parsed.protocol !== 'ws:' && parsed.protocol !== 'wss:') {
    throw new BenchUsageError(`the URL must be ws:// or wss://: ${url}`);
  }
  const host = parsed.hostname;
  const loopback =
    host === 'localhost' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loopback) {
    throw new BenchUsageError(
      `only loopback servers (127.0.0.0/8, ::1, localhost) can be benchmarked: ${host}`,
    );
  }
}
