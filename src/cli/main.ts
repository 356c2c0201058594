#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BENCH_USAGE, benchCommand } from './bench.js';
import { CHAT_MAX_PAYLOAD, chatPubSub } from './chat.js';
import { CONNECT_USAGE, connect, ExitStatus } from './connect.js';
import { listenErrorLine } from './listen-error.js';
import { SERVE_FLAGS, SERVE_USAGE, serveOptions, startEchoServer } from './serve.js';
import {
  asWorker,
  serveWorkerId,
  serveWorkers,
  workerCount,
  workerRooms,
} from './serve-workers.js';
import { UsageFault } from './usage-fault.js';

const USAGE = `Usage: tsws <command> [options]   (tsws <command> --help: that command's options)
  tsws serve [--port 8080] [--host HOST] [--deflate] [--chat [--redis URL]] [--workers N] [limits]
      an echo server on every path, chat rooms, and the demo page at http://localhost:8080/
  tsws connect <url> [-H "Name: value"] [-s PROTOCOL] [-x MSG] [--json]
      an interactive client, like wscat
  tsws bench <url> [-c 100] [-w 16] [-s 16] [--text] [-d 10] [--json]
      an echo load generator (loopback servers only)
  tsws --version | --help
`;

/** Each command: its usage (for --help and usage errors) and what runs it. */
const COMMANDS: Record<string, { usage: string; run: (args: string[]) => Promise<number> }> = {
  serve: { usage: `Usage:\n${SERVE_USAGE}`, run: serveCommand },
  connect: { usage: `Usage:\n${CONNECT_USAGE}`, run: connectCommand },
  bench: { usage: BENCH_USAGE, run: (args) => benchCommand(args) },
};

/** Ends the command with one line on stderr and exit status 1 (a fault of the environment). */
class CommandFault extends Error {}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (command !== undefined) {
    if (rest.includes('--help') || rest.includes('-h')) {
      process.stdout.write(command.usage);
      return 0;
    }
    try {
      return await command.run(rest);
    } catch (error) {
      const usage =
        error instanceof UsageFault ||
        (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') === true;
      process.stderr.write(`tsws: ${(error as Error).message}\n`);
      if (usage) process.stderr.write(`\n${command.usage}`);
      return usage ? ExitStatus.Usage : 1;
    }
  }
  switch (name) {
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
      process.stderr.write(name ? `tsws: unknown command: ${name}\n\n${USAGE}` : USAGE);
      return ExitStatus.Usage;
  }
}

async function serveCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: SERVE_FLAGS, strict: true });
  const options = serveOptions(values);
  if (values.redis !== undefined && !values.chat) throw new UsageFault('--redis needs --chat');
  if (values.workers !== undefined) {
    const workers = workerCount(values.workers);
    if (serveWorkerId() !== undefined) throw new UsageFault('a worker cannot start workers');
    return serveWorkers(args, workers, options, values.chat && values.redis === undefined);
  }
  const worker = serveWorkerId();
  if (values.chat) {
    // Chat-sized messages unless --max-payload says otherwise.
    const maxPayload = options.settings?.maxPayload ?? CHAT_MAX_PAYLOAD;
    const pubsub =
      worker !== undefined && values.redis === undefined
        ? workerRooms(maxPayload)
        : await chatPubSub(values.redis, maxPayload);
    options.settings = { ...options.settings, maxPayload, pubsub };
  }
  let server: Awaited<ReturnType<typeof startEchoServer>>;
  try {
    server = await startEchoServer(options);
  } catch (error) {
    // A Redis adapter would keep reconnecting, and the process alive.
    await options.settings?.pubsub?.adapter?.close();
    const line = listenErrorLine(error, options.port, options.host);
    if (line === undefined) throw error;
    throw new CommandFault(line);
  }
  server.wss.on('undelivered', (report) => {
    const why = report.reason === 'publish-failed' ? `: ${report.error.message}` : '';
    process.stderr.write(`tsws: undelivered (${report.reason}) in room ${report.topic}${why}\n`);
  });
  if (worker !== undefined) {
    // A worker of `tsws serve --workers`: its primary said where it listens.
    let detach = () => {};
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        detach();
        void server.close().then(resolve);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
      detach = asWorker(server.wss, worker, stop);
    });
    return 0;
  }
  // Where it listens, truthfully: every interface unless --host names one.
  const everywhere = options.host === undefined;
  const shown =
    everywhere || options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host!;
  const hostPart = shown.includes(':') ? `[${shown}]` : shown;
  const where = everywhere
    ? `every interface (IPv4 and IPv6), port ${server.port}`
    : `${options.host} only, port ${server.port}`;
  process.stdout.write(
    `tsws echo server listening on ${where}\n` +
      `  http://${hostPart}:${server.port}/ (demo page), ws://${hostPart}:${server.port}/ (echo on any path)\n`,
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
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageFault('connect takes exactly one URL');
  const url = positionals[0]!;
  // `localhost:8080` parses as a URL with the scheme "localhost:": say what was meant.
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new UsageFault(`${url} is not a ws:// or wss:// URL; did you mean ws://${url}?`);
  }
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
    url,
    headers,
    protocols: values.protocol,
    execute: values.execute,
    wait,
    handshakeTimeout,
    json: values.json,
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
    // Not a user's mistake: a bug or an unforeseen fault, so the stack helps.
    process.stderr.write(`tsws: ${(error as Error).stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
