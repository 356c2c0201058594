// `tsws serve --deflate`: the echo server accepts permessage-deflate (it is off without the
// flag, the server default), and echoes compressed messages compressed.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, describe, it } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { messagesOf, startTap, textCorpus } from '../helpers/deflate-wire.js';
import { cliPath, type Run, run } from '../helpers/process.js';

describe('tsws serve --deflate', () => {
  const servers: Run[] = [];
  after(async () => {
    for (const server of servers) {
      if (server.child.exitCode === null) {
        server.child.kill('SIGKILL');
        await server.exit();
      }
    }
  });

  async function serve(...flags: string[]): Promise<number> {
    const server = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1', ...flags]);
    servers.push(server);
    const match = await server.line(/http:\/\/127\.0\.0\.1:(\d+)\//);
    return Number(match[1]);
  }

  for (const [flags, expected] of [
    [['--deflate'], 'permessage-deflate'],
    [[], ''],
  ] as const) {
    it(`${flags.length > 0 ? 'with' : 'without'} --deflate: extensions "${expected}", echoes arrive ${flags.length > 0 ? 'compressed' : 'plain'}`, async () => {
      const port = await serve(...flags);
      const tap = await startTap(port);
      try {
        const ws = new WebSocket(tap.url);
        await once(ws, 'open');
        assert.equal(ws.extensions, expected);
        const text = textCorpus(20_000, 1).toString();
        ws.send(text);
        const [data, isBinary] = await once(ws, 'message');
        assert.equal(isBinary, false);
        assert.equal((data as Buffer).toString(), text);
        const [echo] = messagesOf(tap.connections[0]!.down.frames);
        assert.equal(echo!.rsv1, expected !== '');
        assert.ok(expected === '' || echo!.payload.length < text.length / 2, 'compressed');
        ws.close(1000);
        await once(ws, 'close');
      } finally {
        tap.close();
      }
    });
  }
});
