import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from '../../src/index.js';
import { cliPath, type Run, run } from '../helpers/process.js';

describe('tsws serve', () => {
  let server: Run;
  let port: number;

  before(async () => {
    server = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1']);
    const match = await server.line(/http:\/\/127\.0\.0\.1:(\d+)\//);
    port = Number(match[1]);
  });

  after(async () => {
    if (server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.exit();
    }
  });

  it('serves the demo page: a text box, a Send button and a log', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const html = await res.text();
    assert.match(html, /<input id="message"/);
    assert.match(html, /<button id="send"[^>]*>Send<\/button>/);
    assert.match(html, /id="log"/);
    assert.match(html, /new WebSocket\(/);
    const head = await fetch(`http://127.0.0.1:${port}/`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/nope`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${port}/`, { method: 'POST' })).status, 405);
  });

  it('echoes text and binary messages with their type, on any path', async () => {
    for (const path of ['/', '/any/path?x=1']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`);
      await once(ws, 'open');
      const got: [string, boolean][] = [];
      ws.on('message', (data, isBinary) => got.push([(data as Buffer).toString('hex'), isBinary]));
      ws.send('héllo');
      ws.send(Buffer.from([0, 255]));
      ws.send('');
      while (got.length < 3) await once(ws, 'message');
      assert.deepEqual(got, [
        [Buffer.from('héllo').toString('hex'), false],
        ['00ff', true],
        ['', false],
      ]);
      ws.close(1000);
      const [code] = await once(ws, 'close');
      assert.equal(code, 1000);
    }
  });

  it('shuts down on SIGTERM: open clients get 1001 and the process exits 0', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    server.child.kill('SIGTERM');
    const [code] = await closed;
    assert.equal(code, 1001);
    assert.equal(await server.exit(), 0);
  });
});

describe('tsws serve arguments', () => {
  it('refuses a bad port with exit status 2', async () => {
    const p = run([cliPath, 'serve', '--port', 'abc']);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr(), /invalid port/);
  });

  it('prints usage for --help and exits 0; an unknown command exits 2', async () => {
    const help = run([cliPath, '--help']);
    assert.equal(await help.exit(), 0);
    assert.match(help.stdout(), /tsws serve/);
    assert.match(help.stdout(), /tsws connect/);
    const unknown = run([cliPath, 'frobnicate']);
    assert.equal(await unknown.exit(), 2);
  });
});
