// What every benchmark server shares: the command line, the READY line, the memory report on
// SIGUSR2, and stopping (SIGTERM, SIGINT, or the parent going away).
//
//   node --expose-gc bench/servers/NAME.mjs [--port 0] [--exit-with-stdin] [--deflate JSON]
//
// - --deflate: permessage-deflate on, with these options (tsws's names; `{}` for the defaults);
//   off without it (both libraries' server default). See bench/deflate.mjs.
// - Listens on 127.0.0.1 only, and prints `READY <port>` on stdout once listening.
// - SIGUSR2: runs global.gc() twice (when started with --expose-gc), then prints one JSON line
//   {"rss":…,"heapUsed":…,"external":…,"arrayBuffers":…,"connections":…} on stdout.
// - SIGTERM or SIGINT: exits at once. With --exit-with-stdin, it also exits when its standard
//   input ends, so a server started by bench/compare.mjs never outlives it.
import { parseArgs } from 'node:util';
import * as v8 from 'node:v8';

export const HOST = '127.0.0.1';

/** The port to listen on (0: any free port), and the permessage-deflate options (or false). */
export function serverArgs() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: process.env.PORT ?? '0' },
      'exit-with-stdin': { type: 'boolean', default: false },
      deflate: { type: 'string' },
      mode: { type: 'string', default: 'standalone' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`invalid --port: ${values.port}\n`);
    process.exit(2);
  }
  const deflate = values.deflate === undefined ? false : JSON.parse(values.deflate);
  return { port, exitWithStdin: values['exit-with-stdin'], deflate, mode: values.mode };
}

/**
 * Announces a listening server and installs the signal handlers.
 * `connections()` counts the open WebSocket connections.
 */
export function ready({ name, port, connections, exitWithStdin, note }) {
  process.on('SIGUSR2', () => {
    if (typeof globalThis.gc === 'function') {
      globalThis.gc();
      globalThis.gc();
    }
    const m = process.memoryUsage();
    // The young generation's committed size: it grows under a burst (handshakes) and V8
    // shrinks it some seconds later, which RSS shows.
    const young = v8
      .getHeapSpaceStatistics()
      .filter((s) => s.space_name === 'new_space' || s.space_name === 'new_large_object_space')
      .reduce((n, s) => n + s.physical_space_size, 0);
    process.stdout.write(
      `${JSON.stringify({
        rss: m.rss,
        young,
        heapUsed: m.heapUsed,
        external: m.external,
        arrayBuffers: m.arrayBuffers,
        connections: connections(),
      })}\n`,
    );
  });
  const exit = () => process.exit(0);
  process.on('SIGTERM', exit);
  process.on('SIGINT', exit);
  if (exitWithStdin) {
    process.stdin.on('end', exit);
    process.stdin.on('error', exit);
    process.stdin.resume();
  }
  if (typeof globalThis.gc !== 'function') {
    process.stderr.write(`${name}: started without --expose-gc: memory figures include garbage\n`);
  }
  process.stderr.write(`${name}: ${note}, listening on ${HOST}:${port}\n`);
  process.stdout.write(`READY ${port}\n`);
}

/** Exits loudly when listening fails (port in use...). */
export function failed(name, error) {
  process.stderr.write(`${name}: ${error.message}\n`);
  process.exit(1);
}
