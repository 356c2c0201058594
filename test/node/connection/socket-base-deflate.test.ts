import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { PerMessageDeflate, resolveDeflateOptions } from '../../../src/extensions/index.js';
import { nodeDeflatePort } from '../../../src/node/extensions/zlib-port.js';
import { nextClose, until } from '../../helpers/node-util.js';
import { letIoRun } from '../transport/transport-harness.js';
import { asText, client, messagesOf, OP, open } from './socket-base-harness.js';

// SocketBase while permessage-deflate decodes a message (RFC 7692): the core holds later input,
// and the connection stops reading the transport until the message is out.

/** The server's side of permessage-deflate, as agreed with default parameters. */
function serverDeflate(): PerMessageDeflate {
  return new PerMessageDeflate(
    {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    },
    'server',
    resolveDeflateOptions({}),
    0,
    nodeDeflatePort,
  );
}

/** A client's compressed text frame (RFC 7692 §7.2.1: the sync-flush tail removed). */
function compressed(text: string): Buffer {
  const raw = zlib.deflateRawSync(Buffer.from(text), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  return client({ opcode: OP.text, rsv1: true, payload: raw.subarray(0, raw.length - 4) });
}

describe('SocketBase with permessage-deflate', () => {
  it('reading stops while a message inflates; later frames wait behind it; reading restarts', async (t) => {
    const { ws, transport } = open(t, {}, Buffer.alloc(0), serverDeflate());
    const got = messagesOf(ws);
    transport.push(
      Buffer.concat([
        compressed('squeezed '.repeat(50)),
        client({ opcode: OP.text, payload: 'plain' }),
      ]),
    );
    assert.equal(transport.paused, true, 'reading stopped during the inflate');
    assert.deepEqual(got, [], 'the plain message does not overtake');
    await until(() => got.length === 2, 'both messages');
    assert.deepEqual(asText(got), ['squeezed '.repeat(50), 'plain']);
    await until(() => !transport.paused, 'reading again');
  });

  // WebSocket.pause(): events already read are held too, a message being decoded included.
  it('the application pauses during the inflate: no message and no reading until resume()', async (t) => {
    const { ws, transport } = open(t, {}, Buffer.alloc(0), serverDeflate());
    const got = messagesOf(ws);
    transport.push(compressed('held'));
    ws.pause();
    await letIoRun();
    assert.equal(transport.paused, true);
    assert.deepEqual(got, [], 'no message while paused');
    ws.resume();
    await until(() => got.length === 1, 'the message');
    assert.deepEqual(asText(got), ['held']);
    await until(() => !transport.paused, 'reading again');
  });

  it('corrupt compressed data: 1007, and reading goes on to see the close', async (t) => {
    const { ws, transport } = open(t, {}, Buffer.alloc(0), serverDeflate());
    const frame = client({ opcode: OP.text, rsv1: true, payload: Buffer.from([0xff, 0xff, 0xff]) });
    const closed = nextClose(ws);
    transport.push(frame);
    await until(() => transport.frames().length === 1, 'the close frame');
    const [close] = transport.frames();
    assert.deepEqual([close!.opcode, close!.payload.readUInt16BE(0)], [OP.close, 1007]);
    assert.equal(transport.paused, false, "reading again: the peer's close must be seen");
    transport.peerEnd();
    assert.equal((await closed).code, 1007);
  });
});
