import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serveOptions, startEchoServer } from '../../src/cli/serve.js';
import { UsageFault } from '../../src/cli/usage-fault.js';
import { httpExchange, upgradeRequest } from '../helpers/node-raw.js';
import { client, next } from '../helpers/node-util.js';

// Issue 11: `tsws serve --origin ORIGIN` (repeatable) allows browsers of those origins only.
describe('tsws serve --origin', () => {
  it('collects every --origin into the origins option, and refuses what is no origin', () => {
    const options = serveOptions({ origin: ['https://a.example', 'http://b.example:8080'] });
    assert.deepEqual(options.settings?.origins, ['https://a.example', 'http://b.example:8080']);
    assert.equal(serveOptions({}).settings?.origins, undefined);
    for (const bad of ['a.example', 'https://a.example/path', 'https://']) {
      assert.throws(() => serveOptions({ origin: [bad] }), UsageFault, bad);
    }
  });

  it('answers another origin with 403 and lets a listed one (and none) through', async (t) => {
    const server = await startEchoServer({
      port: 0,
      host: '127.0.0.1',
      settings: serveOptions({ origin: ['https://a.example'] }).settings,
    });
    t.after(() => server.close());
    const refused = await httpExchange(
      t,
      server.port,
      upgradeRequest({ headers: { Origin: 'https://evil.example' } }).text,
    );
    assert.equal(refused.status, 403);
    for (const origin of ['https://a.example', undefined]) {
      const ws = client(t, `ws://127.0.0.1:${server.port}/`, origin ? { origin } : {});
      await next(ws, 'open');
      ws.terminate();
    }
  });
});
