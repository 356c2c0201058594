#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { benchCommand } from './bench.js';
import { CHAT_MAX_PAYLOAD, chatPubSub } from './chat.js';
import { connect, ExitStatus } from './connect.js';
import { SERVE_FLAGS, SERVE_USAGE, serveOptions, startEchoServer } from './serve.js';
import { UsageFault } from './usage-fault.js';

const USAGE = `Usage:
${SERVE_USAGE}  tsws connect <url> [--header "Name: value"]... [--protocol NAME]... [--execute MSG] [--wait MS]
      An interactive client: each line typed is sent, each message received is printed.
      --execute sends MSG, prints the answer and closes. Exit status: 0 after a normal close
      (1000, 1001, 1005), 1 on a failure (cannot connect, abnormal close, error code), 2 on bad usage.
  tsws bench <url> [--connections 100] [--window 16] [--size 16] [--text] [--duration 10]
             [--warmup 2] [--json] [--quiet]
      An echo load generator on tsws's client (loopback servers only): keeps --window messages
      in flight on each connection and reports msgs/s, MiB/s and latency p50/p99/p99.9.
      Exit status: 0, 1 when any error happened, 2 on bad usage.
  tsws --version | --help
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serveCommand(rest);
    case 'connect':
      return connectCommand(rest);
    case 'bench':
      return benchCommand(rest);
    case '--version':
    case '-v':
      process.stdout.write(`${version()}\n`);
      return 0;
    case '--help':
    case '-h':
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(command ? `unknown command: ${command}\n\n${USAGE}` : USAGE);
      return ExitStatus.Usage;
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SERVE_FLAGS, strict: true });
  const options = serveOptions(values);
  if (values.redis !== undefined && !values.chat) throw new UsageFault('--redis needs --chat');
  if (values.chat) {
    // Chat-sized messages unless --max-payload says otherwise.
    const maxPayload = options.settings?.maxPayload ?? CHAT_MAX_PAYLOAD;
    const pubsub = await chatPubSub(values.redis, maxPayload);
    options.settings = { ...options.settings, maxPayload, pubsub };
  }
  const server = await startEchoServer(options);
  server.wss.on('undelivered', (report) => {
    process.stderr.write(`tsws: undelivered (${report.reason}) in room ${report.topic}\n`);
  });
  const shown =
    values.host && values.host !== '0.0.0.0' && values.host !== '::' ? values.host : 'localhost';
  const hostPart = shown.includes(':') ? `[${shown}]` : shown;
  process.stdout.write(
    `tsws echo server: http://${hostPart}:${server.port}/ (demo page), ws://${hostPart}:${server.port}/ (echo on any path)\n`,
  );
  if (values.chat) {
    const via = values.redis === undefined ? 'this process' : `Redis at ${values.redis}`;
    process.stdout.write(
      `chat rooms: ws://${hostPart}:${server.port}/chat/ROOM (shared through ${via})\n`,
    );
  }
  await new Promise<void>((resolve) => {
    // Graceful shutdown; the handlers go, so a second signal ends the process at once.
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.write('shutting down\n');
      void server.close().then(resolve);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}

async function connectCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      header: { type: 'string', short: 'H', multiple: true, default: [] },
      protocol: { type: 'string', short: 's', multiple: true, default: [] },
      execute: { type: 'string', short: 'x' },
      wait: { type: 'string', short: 'w', default: '5000' },
      'handshake-timeout': { type: 'string', default: '10000' },
    },
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageFault('connect takes exactly one URL');
  const headers: Record<string, string> = {};
  for (const header of values.header) {
    const colon = header.indexOf(':');
    if (colon <= 0) throw new UsageFault(`invalid header (want "Name: value"): ${header}`);
    headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  const wait = Number(values.wait);
  const handshakeTimeout = Number(values['handshake-timeout']);
  if (!(wait > 0) || !(handshakeTimeout > 0))
    throw new UsageFault('--wait and --handshake-timeout take milliseconds');
  return connect({
    url: positionals[0]!,
    headers,
    protocols: values.protocol,
    execute: values.execute,
    wait,
    handshakeTimeout,
    input: process.stdin,
    output: process.stdout,
    errors: process.stderr,
  });
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

main(process.argv.slice(2)).then(
  (status) => {
    process.exitCode = status;
  },
  (error: unknown) => {
    const usage =
      error instanceof UsageFault ||
      (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`tsws: ${(error as Error).message}\n`);
    if (usage) process.stderr.write(`\n${USAGE}`);
    process.exitCode = usage ? ExitStatus.Usage : 1;
  },
);
