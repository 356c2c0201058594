// Compressing a message once for many connections (src/extensions/permessage-deflate/
// shared-compression.ts): which connections may share compressed bytes, and that those bytes
// decode on each of them, before and after messages compressed by the connection's own codec.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compressAlone,
  type DeflateParams,
  PerMessageDeflate,
  type PerMessageDeflateOptions,
  resolveDeflateOptions,
  type SharedCompression,
} from '../../src/extensions/index.js';
import { nodeDeflatePort } from '../../src/node/extensions/zlib-port.js';
import { inflateMessage, TAIL, textCorpus } from '../helpers/deflate-wire.js';

const DEFAULT: DeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

function codec(
  params: Partial<DeflateParams> = {},
  options: PerMessageDeflateOptions = {},
  role: 'server' | 'client' = 'server',
): PerMessageDeflate {
  return new PerMessageDeflate(
    { ...DEFAULT, ...params },
    role,
    resolveDeflateOptions(options),
    0,
    nodeDeflatePort,
  );
}

function alone(data: Uint8Array, shared: SharedCompression): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    compressAlone(data, shared, (error, out) => (error ? reject(error) : resolve(out!))),
  );
}

function decompress(c: PerMessageDeflate, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.decode(data, (error, out) => (error ? reject(error) : resolve(out!))),
  );
}

/** The zlib window the Node port compresses a shared group with. */
function bitsOf(shared: SharedCompression): number | undefined {
  return (shared as SharedCompression & { options: { windowBits?: number } }).options.windowBits;
}

function compress(c: PerMessageDeflate, data: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    c.encode(data, true, (error, out) => (error ? reject(error) : resolve(out!))),
  );
}

describe('shared compression: who may share', () => {
  it('connections without server context takeover share, grouped by window, level and memLevel', () => {
    const a = codec();
    const b = codec();
    const smaller = codec({ serverMaxWindowBits: 10 });
    const level = codec({}, { level: 1 });
    const memLevel = codec({}, { memLevel: 9 });
    assert.ok(a.shared !== undefined);
    assert.equal(a.shared.key, b.shared!.key);
    const keys = new Set([a, smaller, level, memLevel].map((c) => c.shared!.key));
    assert.equal(keys.size, 4, 'each difference makes its own group');
    assert.equal(bitsOf(smaller.shared!), 10);
  });

  it('with server context takeover a connection shares nothing', () => {
    assert.equal(codec({ serverNoContextTakeover: false }).shared, undefined);
  });

  it("a window of 8 bits is compressed with zlib's 9-bit window (which fits it), and shared too", () => {
    const c = codec({ serverMaxWindowBits: 8 });
    assert.equal(bitsOf(c.shared!), 9);
    assert.equal(c.shared!.key, codec({ serverMaxWindowBits: 9 }).shared!.key);
  });

  it('on a client, the client_no_context_takeover side decides', () => {
    assert.equal(codec({ serverNoContextTakeover: false }, {}, 'client').shared, undefined);
    const c = codec({ clientNoContextTakeover: true, clientMaxWindowBits: 12 }, {}, 'client');
    assert.equal(bitsOf(c.shared!), 12);
  });
});

describe('compressAlone', () => {
  it('makes what the connection codec makes: RFC 7692 §7.2.1 bytes, tail removed', async () => {
    const c = codec();
    const data = textCorpus(50_000, 3);
    const once = await alone(data, c.shared!);
    assert.deepEqual(once, await compress(c, data));
    assert.ok(!once.subarray(-4).equals(TAIL));
    assert.deepEqual(inflateMessage(once, 15), data);
  });

  it('compresses with the group window: a 9-bit peer inflates it with exactly 9 bits', async () => {
    const c = codec({ serverMaxWindowBits: 9 });
    const data = textCorpus(20_000, 4);
    assert.deepEqual(inflateMessage(await alone(data, c.shared!), 9), data);
  });

  it('the same bytes decode on every connection of the group, between their own messages', async () => {
    // Inflaters that keep their window between messages (a client may, even when the server
    // compresses each message alone): shared bytes refer to nothing before them.
    const clients = Array.from({ length: 3 }, () =>
      codec({ serverNoContextTakeover: false }, {}, 'client'),
    );
    const servers = Array.from({ length: 3 }, () => codec());
    const shared = await alone(textCorpus(8_000, 5), servers[0]!.shared!);
    for (const [i, client] of clients.entries()) {
      const own = textCorpus(3_000, 10 + i);
      assert.deepEqual(await decompress(client, await compress(servers[i]!, own)), own);
      assert.deepEqual(await decompress(client, shared), textCorpus(8_000, 5));
      assert.deepEqual(await decompress(client, await compress(servers[i]!, own)), own);
    }
  });

  it('an empty message compresses to bytes that inflate to nothing', async () => {
    const out = await alone(new Uint8Array(0), codec().shared!);
    assert.equal(inflateMessage(out, 15).length, 0);
  });
});
