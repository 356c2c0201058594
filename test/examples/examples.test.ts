import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runExample } from './run-line.js';

const missingPeers = (process.env.TSWS_MISSING_PEERS ?? '').split(',');

describe('examples run as they are', () => {
  it('echo: a server and a client exchange text and binary, then close', async () => {
    const p = runExample('echo');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /client: text hello\n/);
    assert.match(p.stdout(), /client: binary 010203\n/);
    assert.match(p.stdout(), /client: closed 1000 done\n/);
  });

  it('one-port: a request listener and WebSocket upgrades share the port', async () => {
    const p = runExample('one-port');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /websocket: hello\n/);
    assert.match(p.stdout(), /http: 200 \{"connections":1\}\n/);
  });

  it('authenticate: a bad token gets 401, a good one gets ws.data', async () => {
    const p = runExample('authenticate');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /refused: 401 Bearer\n/);
    assert.match(p.stdout(), /accepted: welcome, ada\n/);
  });

  it('flow-control: a producer heeding send() and drain, a slow consumer, a graceful shutdown', async () => {
    const p = runExample('flow-control');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: 200 messages sent\n/);
    assert.match(p.stdout(), /client: 200 messages, in order\n/);
    assert.match(p.stdout(), /client: closed 1001\n/);
    assert.match(p.stdout(), /server: closed\n/);
  });

  it('stream: 4 MiB streamed in fragments arrives as one message', async () => {
    const p = runExample('stream');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: one message of 4194304 bytes\n/);
    assert.match(p.stdout(), /client: stream sent\n/);
  });

  it('whatwg-websocket: the browser API echoes text and binary, then closes cleanly', async () => {
    const p = runExample('whatwg-websocket');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /client: open, protocol chat\.v1\n/);
    assert.match(p.stdout(), /client: bufferedAmount 8\n/);
    assert.match(p.stdout(), /client: text hello\n/);
    assert.match(p.stdout(), /client: binary 1,2,3\n/);
    assert.match(p.stdout(), /client: closed 1000 done clean=true\n/);
    assert.match(p.stdout(), /extras: closed\n/);
  });

  it('whatwg-stream: a slow reader gets every message, then the close', async () => {
    const p = runExample('whatwg-stream');
    assert.equal(await p.exit(), 0, p.stderr());
    assert.match(p.stdout(), /server: got hello from a stream\n/);
    assert.match(p.stdout(), /client: read 200 messages, 13107200 bytes\n/);
    assert.match(p.stdout(), /client: closed 1000 that is all\n/);
  });

  it('pubsub: topics by path, a publish to each subscriber, ws.publish to the others', async () => {
    const p = runExample('pubsub');
    assert.equal(await p.exit(), 0, p.stderr());
    const out = p.stdout();
    assert.match(out, /^subscribers: prices 2, news 1\n/);
    for (const line of [
      'ada (prices): ACME 42.10',
      'bob (prices): ACME 42.10',
      'eve (news): markets open',
      'bob (prices): ada: buying ACME',
    ]) {
      assert.ok(out.includes(`${line}\n`), line);
    }
    assert.ok(!out.includes('ada (prices): ada: buying'), 'the sender is left out');
    assert.ok(!out.includes('eve (news): ACME'), 'another topic hears nothing');
  });

  it('workers: two processes on one port, a publish on one reaches both in order, SIGTERM stops them', async () => {
    const p = runExample('workers');
    assert.equal(await p.exit(20_000), 0, p.stderr());
    const out = p.stdout();
    assert.match(out, /^workers: worker 1, worker 2\n/);
    assert.match(out, /worker 1 got: message 1, message 2, message 3\n/);
    assert.match(out, /worker 2 got: message 1, message 2, message 3\n/);
    assert.equal(out.match(/client closed 1001\n/g)?.length, 2);
    assert.match(out, /pool stopped, clean: true\n/);
  });

  it('pubsub-redis: two servers share a topic through Redis, in one order', {
    // scripts/run-tests.mjs names the peers it could not find or install.
    skip: missingPeers.includes('redis-server') && "redis-server is missing (see the run's start)",
  }, async () => {
    const p = runExample('pubsub-redis');
    assert.equal(await p.exit(20_000), 0, p.stderr());
    const expected = ['server 1 relays: hello from ada', 'server 2 relays: hi ada, bob here'];
    const got = (name: string) =>
      p
        .stdout()
        .split('\n')
        .filter((l) => l.startsWith(`${name} got: `))
        .map((l) => l.slice(`${name} got: `.length));
    assert.deepEqual(got('ada'), expected);
    assert.deepEqual(got('bob'), expected);
    assert.match(p.stdout(), /same order on both servers: true\n/);
  });
});
