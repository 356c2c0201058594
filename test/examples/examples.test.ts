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

  it('stream: 4 MiB streamed in fragments arrives as one message', async () => {
    const p = run(['build/examples/stream.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: one message of 4194304 bytes\n/);
    assert.match(p.stdout(), /client: stream sent\n/);
  });

  it('whatwg-websocket: the browser API echoes text and binary, then closes cleanly', async () => {
    const p = run(['build/examples/whatwg-websocket.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /client: open, protocol chat\.v1\n/);
    assert.match(p.stdout(), /client: bufferedAmount 8\n/);
    assert.match(p.stdout(), /client: text hello\n/);
    assert.match(p.stdout(), /client: binary 1,2,3\n/);
    assert.match(p.stdout(), /client: closed 1000 done clean=true\n/);
    assert.match(p.stdout(), /extras: closed\n/);
  });

  it('whatwg-stream: a slow reader gets every message, then the close', async () => {
    const p = run(['build/examples/whatwg-stream.js']);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: got hello from a stream\n/);
    assert.match(p.stdout(), /client: read 200 messages, 13107200 bytes\n/);
    assert.match(p.stdout(), /client: closed 1000 that is all\n/);
  });
});
