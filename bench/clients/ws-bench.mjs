#!/usr/bin/env node
// The same load generator as `tsws bench`, on ws's client: it runs tsws's bench engine
// (dist/cli/bench.js) with ws's WebSocket class, so the two differ only by the client under
// test. Same options, same table, same JSON (`--json`). Build first: `npm run build`.
//
//   node bench/clients/ws-bench.mjs ws://127.0.0.1:PORT/ [--connections 100] [--window 16]
//        [--size 16] [--text] [--duration 10] [--warmup 2] [--json] [--quiet]
//
// ws uses bufferutil (native masking) when it is installed, unless WS_NO_BUFFER_UTIL=1.
import { createRequire } from 'node:module';
import { WebSocket } from 'ws';
import { benchCommand } from '../../dist/cli/bench.js';

const require = createRequire(import.meta.url);
const wsVersion = require('ws/package.json').version;

/** Whether ws loaded bufferutil: the same test ws's lib/buffer-util.js makes. */
function usesBufferutil() {
  if (process.env.WS_NO_BUFFER_UTIL) return false;
  try {
    require('bufferutil');
    return true;
  } catch {
    return false;
  }
}

const client = {
  name: `ws ${wsVersion}${usesBufferutil() ? ' + bufferutil' : ''}`,
  tool: 'ws-bench',
  WebSocket,
  // ws offers permessage-deflate by default; tsws's client does not: turn it off to compare.
  options: { handshakeTimeout: 10_000, perMessageDeflate: false },
};

process.exitCode = await benchCommand(process.argv.slice(2), client);
