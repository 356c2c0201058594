// permessage-deflate as an Extension (src/extensions/permessage-deflate/codec.ts): its RFC 7692
// rules over a fake DeflatePort (what it asks the port, the tail, empty messages), and the
// whole read path in the core over the Node port (src/node/extensions/zlib-port.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type DeflateParams,
  type DeflatePort,
  type DeflatePortSettings,
  deflateClientFactory,
  deflateServerFactory,
  PERMESSAGE_DEFLATE,
  PerMessageDeflate,
  type PortCallback,
  resolveDeflateOptions,
} from '../../src/extensions/index.js';
import { nodeDeflatePort } from '../../src/node/extensions/zlib-port.js';
import { Connection, ErrorCode, Opcode } from '../../src/protocol/index.js';
import { deflateMessage, TAIL, textCorpus } from '../helpers/deflate-wire.js';
import { encodeFrame } from '../helpers/frames.js';

const PARAMS: DeflateParams = {
  serverNoContextTakeover: true,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 10,
  clientMaxWindowBits: 12,
};

/** A port that records its calls and answers with canned bytes. */
class FakePort implements DeflatePort {
  readonly shared = undefined;
  readonly calls: string[] = [];
  deflateOut = Buffer.from([1, 2, 3, 0x00, 0x00, 0xff, 0xff]);
  constructor(readonly settings: DeflatePortSettings) {}
  deflate(data: Uint8Array, end: boolean, callback: PortCallback): void {
    this.calls.push(`deflate ${data.length} end=${end}`);
    callback(null, data.length === 0 ? Buffer.alloc(0) : this.deflateOut);
  }
  inflate(data: Buffer, tail: Buffer, callback: PortCallback): void {
    this.calls.push(`inflate ${data.toString('hex')}+${tail.toString('hex')}`);
    callback(null, Buffer.from('out'));
  }
  resumeInflate(): void {
    this.calls.push('resume');
  }
  close(): void {
    this.calls.push('close');
  }
}

function withFakePort(role: 'server' | 'client', maxPayload = 0) {
  let port: FakePort | undefined;
  const ext = new PerMessageDeflate(PARAMS, role, resolveDeflateOptions({}), maxPayload, (s) => {
    port = new FakePort(s);
    return port;
  });
  return { ext, port: port! };
}

function encode(ext: PerMessageDeflate, data: Uint8Array, fin: boolean): Buffer {
  let out: Buffer | undefined;
  ext.encode(data, fin, (error, result) => {
    assert.equal(error, null);
    out = result;
  });
  return out!;
}

describe('PerMessageDeflate over a fake DeflatePort', () => {
  it('is the RSV1 extension named permessage-deflate', () => {
    const { ext } = withFakePort('server');
    assert.equal(ext.name, PERMESSAGE_DEFLATE);
    assert.equal(ext.rsv1, true);
  });

  it("asks the port for each direction's agreed window and context takeover (RFC 7692 §7.1)", () => {
    const server = withFakePort('server', 1000).port.settings;
    assert.equal(server.deflateWindowBits, 10);
    assert.equal(server.inflateWindowBits, 12);
    assert.equal(server.deflateTakeover, false);
    assert.equal(server.inflateTakeover, true);
    assert.equal(server.maxOutput, 1000);
    const client = withFakePort('client').port.settings;
    assert.equal(client.deflateWindowBits, 12);
    assert.equal(client.inflateWindowBits, 10);
    assert.equal(client.deflateTakeover, true);
    assert.equal(client.inflateTakeover, false);
    assert.equal(client.maxOutput, Number.POSITIVE_INFINITY, 'maxPayload 0: no limit');
  });

  it('removes the 00 00 ff ff tail at the end of a message only (RFC 7692 §7.2.1)', () => {
    const { ext, port } = withFakePort('server');
    assert.deepEqual(encode(ext, Buffer.from('ab'), false), port.deflateOut);
    assert.deepEqual(encode(ext, Buffer.from('cd'), true), Buffer.from([1, 2, 3]));
    assert.deepEqual(port.calls, ['deflate 2 end=false', 'deflate 2 end=true']);
  });

  it('an empty message is a single 0x00 byte; an empty fragment nothing (RFC 7692 §7.2.3.6)', () => {
    const { ext } = withFakePort('server');
    assert.deepEqual(encode(ext, Buffer.alloc(0), true), Buffer.from([0x00]));
    assert.deepEqual(encode(ext, Buffer.alloc(0), false), Buffer.alloc(0));
  });

  it('decodes by inflating the message with its tail restored; resume and close go to the port', () => {
    const { ext, port } = withFakePort('client');
    let out: Buffer | undefined;
    ext.decode(Buffer.from([0xab]), (error, result) => {
      assert.equal(error, null);
      out = result;
    });
    ext.resumeDecoding();
    ext.close();
    assert.deepEqual(out, Buffer.from('out'));
    assert.deepEqual(port.calls, [`inflate ab+${TAIL.toString('hex')}`, 'resume', 'close']);
  });
});

/** A server Connection with permessage-deflate over the Node port; resolves on its first event. */
function serverOverNodePort(maxPayload = 0) {
  const ext = new PerMessageDeflate(
    { ...PARAMS, serverNoContextTakeover: false, clientMaxWindowBits: 15 },
    'server',
    resolveDeflateOptions({}),
    maxPayload,
    nodeDeflatePort,
  );
  let settle: (event: string) => void;
  const first = new Promise<string>((resolve) => {
    settle = resolve;
  });
  const conn = new Connection(
    { role: 'server', maxPayload },
    {
      onMessage: (data, isBinary) =>
        settle(`${isBinary ? 'binary' : 'text'}:${data.length}:${data.subarray(0, 8).toString()}`),
      onPing: () => settle('ping'),
      onPong: () => {},
      onClose: () => {},
      onError: (error) => settle(`error:${error.code}:${error.closeCode}`),
    },
    ext,
  );
  return { conn, ext, first };
}

const masked = (opcode: number, payload: Buffer, rsv1: boolean) =>
  encodeFrame({ opcode, payload, rsv1, mask: true });

describe('PerMessageDeflate over the Node port, in the core', () => {
  it('inflates a compressed text message, in its place before a later ping', async () => {
    const { conn, ext, first } = serverOverNodePort();
    const text = textCorpus(10_000, 2);
    conn.receiveData(
      Buffer.concat([
        masked(Opcode.Text, deflateMessage(text), true),
        masked(Opcode.Ping, Buffer.alloc(0), false),
      ]),
    );
    assert.equal(await first, `text:${text.length}:${text.subarray(0, 8).toString()}`);
    ext.close();
  });

  it('a message inflating past maxPayload fails with 1009', async () => {
    const { conn, ext, first } = serverOverNodePort(1000);
    conn.receiveData(masked(Opcode.Binary, deflateMessage(Buffer.alloc(100_000)), true));
    assert.equal(await first, `error:${ErrorCode.MessageTooBig}:1009`);
    ext.close();
  });

  it('data that is not DEFLATE fails with 1007', async () => {
    const { conn, ext, first } = serverOverNodePort();
    conn.receiveData(masked(Opcode.Binary, Buffer.from([0xff, 0xff, 0xff]), true));
    assert.equal(await first, `error:${ErrorCode.InvalidCompressedData}:1007`);
    ext.close();
  });

  it('text that is not UTF-8 once inflated fails with 1007', async () => {
    const { conn, ext, first } = serverOverNodePort();
    conn.receiveData(masked(Opcode.Text, deflateMessage(Buffer.from([0xc0, 0x80])), true));
    assert.equal(await first, `error:${ErrorCode.InvalidUtf8}:1007`);
    ext.close();
  });
});

describe('permessage-deflate negotiation factories (ServerExtensionFactory, ClientExtensionFactory)', () => {
  const options = resolveDeflateOptions({});
  const fakePort = (s: DeflatePortSettings) => new FakePort(s);

  it("the server picks the first acceptable offer, answers it, and makes the connection's extension", () => {
    const server = deflateServerFactory(options, 0, fakePort);
    assert.equal(server.name, PERMESSAGE_DEFLATE);
    const picked = server.accept([
      { name: 'x-other', params: [] },
      { name: PERMESSAGE_DEFLATE, params: [['unknown', true]] },
      { name: PERMESSAGE_DEFLATE, params: [['server_no_context_takeover', true]] },
    ]);
    assert.ok(picked !== undefined);
    assert.deepEqual(picked.answer, {
      name: PERMESSAGE_DEFLATE,
      params: [['server_no_context_takeover', true]],
    });
    assert.ok(picked.extension instanceof PerMessageDeflate);
    assert.equal(server.accept([{ name: 'x-other', params: [] }]), undefined);
  });

  it('the client offers, accepts a fitting answer, and refuses one it did not ask for', () => {
    const client = deflateClientFactory(
      resolveDeflateOptions({ serverNoContextTakeover: true }),
      0,
      fakePort,
    );
    const offer = client.offer();
    assert.equal(offer.name, PERMESSAGE_DEFLATE);
    assert.deepEqual(offer.params[0], ['server_no_context_takeover', true]);
    const ok = client.accept({
      name: PERMESSAGE_DEFLATE,
      params: [['server_no_context_takeover', true]],
    });
    assert.ok(ok instanceof PerMessageDeflate);
    const refused = client.accept({ name: PERMESSAGE_DEFLATE, params: [] });
    assert.ok(refused instanceof Error);
    assert.equal((refused as Error & { code: string }).code, 'WS_ERR_INVALID_EXTENSION_HEADER');
  });
});
