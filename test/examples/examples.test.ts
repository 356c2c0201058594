import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { run } from '../helpers/process.js';

describe('examples run as they are', () => {
  it('echo: a server and a client exchange text and binary, then close', async () => {
    const p = run(['build/examples/echo.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /client: text hello\n/);
    assert.match(p.stdout(), /client: binary 010203\n/);
    assert.match(p.stdout(), /client: closed 1000 done\n/);
  });

  it('authenticate: a bad token gets 401, a good one gets ws.data', async () => {
    const p = run(['build/examples/authenticate.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /refused: 401 Bearer\n/);
    assert.match(p.stdout(), /accepted: welcome, ada\n/);
  });

  it('flow-control: a producer heeding send() and drain, a slow consumer, a graceful shutdown', async () => {
    const p = run(['build/examples/flow-control.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: 200 messages sent\n/);
    assert.match(p.stdout(), /client: 200 messages, in order\n/);
    assert.match(p.stdout(), /client: closed 1001\n/);
    assert.match(p.stdout(), /server: closed\n/);
  });

  it('stream: 4 MiB streamed in fragments arrives as one message', async () => {
    const p = run(['build/examples/stream.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: one message of 4194304 bytes\n/);
    assert.match(p.stdout(), /client: stream sent\n/);
  });
});
