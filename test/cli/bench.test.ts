import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { cliPath, run } from '../helpers/process.js';

describe('tsws bench', () => {
  let wss: WebSocketServer;
  let url: string;
  let mode: 'echo' | 'corrupt' | 'close' = 'echo';

  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => {
        if (mode === 'close') ws.close(1011);
        else if (mode === 'corrupt') ws.send(Buffer.concat([data as Buffer, Buffer.from('x')]));
        else ws.send(data as Buffer, { binary: isBinary });
      });
    });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  });

  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  const args = ['--connections', '3', '--window', '4', '--duration', '0.5', '--warmup', '0.2'];

  it('measures an echo server and prints one JSON result', async () => {
    mode = 'echo';
    const p = run([cliPath, 'bench', url, ...args, '--size', '100', '--json', '--quiet']);
    assert.equal(await p.exit(), 0, p.stderr());
    const result = JSON.parse(p.stdout()) as Record<string, number | string>;
    assert.equal(result.conns, 3);
    assert.equal(result.conns_open, 3);
    assert.equal(result.size, 100);
    assert.equal(result.window, 4);
    assert.equal(result.type, 'binary');
    assert.equal(result.errors, 0);
    assert.ok((result.msgs as number) > 0);
    assert.ok((result.msgs_per_s as number) > 0);
    assert.ok((result.lat_p50_us as number) > 0);
    assert.ok((result.lat_p99_us as number) >= (result.lat_p50_us as number));
  });

  it('prints a table and checks text echoes too', async () => {
    mode = 'echo';
    const p = run([cliPath, 'bench', url, ...args, '--text', '--quiet']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /msgs\/s/);
    assert.match(p.stdout(), /p99/);
  });

  it('exits 1 when echoes are wrong or connections close', async () => {
    mode = 'corrupt';
    const corrupt = run([cliPath, 'bench', url, ...args, '--json', '--quiet']);
    assert.equal(await corrupt.exit(), 1);
    assert.ok((JSON.parse(corrupt.stdout()) as { errors: number }).errors > 0);
    mode = 'close';
    const closed = run([cliPath, 'bench', url, ...args, '--json', '--quiet']);
    assert.equal(await closed.exit(), 1);
  });

  it('refuses non-loopback URLs and bad options (exit 2)', async () => {
    const remote = run([cliPath, 'bench', 'ws://example.com/']);
    assert.equal(await remote.exit(), 2);
    const bad = run([cliPath, 'bench', url, '--connections', 'lots']);
    assert.equal(await bad.exit(), 2);
  });
});
