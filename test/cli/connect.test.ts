import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { cliPath, run } from '../helpers/process.js';

describe('tsws connect', () => {
  let wss: WebSocketServer;
  let url: string;
  let lastRequest: IncomingMessage | undefined;

  before(async () => {
    wss = new WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (p) => (p.has('chat') ? 'chat' : false),
    });
    wss.on('connection', (ws, req) => {
      lastRequest = req;
      ws.on('message', (data, isBinary) => {
        const text = (data as Buffer).toString();
        if (text === 'bye-1011') ws.close(1011, 'server error');
        else if (text === 'binary') ws.send(Buffer.from([1, 2, 254]));
        else if (text === 'silence') return;
        else ws.send(data as Buffer, { binary: isBinary });
      });
    });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  });

  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  it('--execute sends, prints the answer, closes cleanly (exit 0)', async () => {
    const p = run([cliPath, 'connect', url, '--execute', 'hello there']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.equal(p.stdout(), 'hello there\n');
    assert.match(p.stderr(), /closed: 1000/);
  });

  it('prints binary messages as hex', async () => {
    const p = run([cliPath, 'connect', url, '-x', 'binary']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.equal(p.stdout(), '<binary 3 bytes> 0102fe\n');
  });

  it('sends each line typed and prints each answer; end of input closes with 1000', async () => {
    const p = run([cliPath, 'connect', url]);
    await new Promise<void>((resolve) => {
      const onData = (s: Buffer) => {
        if (s.toString().includes('connected')) {
          p.child.stderr!.off('data', onData);
          resolve();
        }
      };
      p.child.stderr!.on('data', onData);
    });
    p.child.stdin!.write('one\ntwo\n');
    await p.line(/two\n/);
    p.child.stdin!.end();
    assert.equal(await p.exit(), 0, p.stderr());
    assert.equal(p.stdout(), 'one\ntwo\n');
  });

  it('sends --header and --protocol', async () => {
    const p = run([
      cliPath,
      'connect',
      url,
      '-H',
      'X-Token: abc',
      '--protocol',
      'chat',
      '-x',
      'hi',
    ]);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.equal(lastRequest?.headers['x-token'], 'abc');
    assert.match(p.stderr(), /subprotocol: chat/);
  });

  it('exits 1 when the server closes with an error code', async () => {
    const p = run([cliPath, 'connect', url, '-x', 'bye-1011']);
    assert.equal(await p.exit(), 1);
    assert.match(p.stderr(), /closed: 1011 server error/);
  });

  it('exits 1 when no answer comes within --wait', async () => {
    const p = run([cliPath, 'connect', url, '-x', 'silence', '--wait', '200']);
    assert.equal(await p.exit(), 1);
    assert.match(p.stderr(), /no answer within 200 ms/);
  });

  it('exits 1 when it cannot connect', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as AddressInfo).port;
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
    const p = run([cliPath, 'connect', `ws://127.0.0.1:${port}/`, '-x', 'x']);
    assert.equal(await p.exit(), 1);
    assert.match(p.stderr(), /ECONNREFUSED/);
    assert.match(p.stderr(), /closed: 1006/);
  });

  it('exits 2 on a bad URL or missing URL', async () => {
    const bad = run([cliPath, 'connect', 'ftp://example']);
    assert.equal(await bad.exit(), 2);
    const missing = run([cliPath, 'connect']);
    assert.equal(await missing.exit(), 2);
    const badHeader = run([cliPath, 'connect', url, '-H', 'nocolon']);
    assert.equal(await badHeader.exit(), 2);
  });
});
