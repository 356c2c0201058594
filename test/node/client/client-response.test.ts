// A server answer that Node's HTTP parser refuses fails the handshake with a documented code,
// WS_ERR_INVALID_RESPONSE, Node's HPE_* error as its cause (issue 11, client responses).
import assert from 'node:assert/strict';
import type * as net from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { acceptKey, rawServer, readHead, requestHeader } from '../../helpers/node-raw.js';
import { client, nextClose, record } from '../../helpers/node-util.js';

async function answering(t: TestContext, extra: string): Promise<number> {
  const { port } = await rawServer(t, async (socket: net.Socket) => {
    const { head } = await readHead(socket);
    const key = requestHeader(head, 'sec-websocket-key') ?? '';
    socket.end(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey(key)}\r\n${extra}\r\n`,
    );
  });
  return port;
}

describe('client: malformed server answers', () => {
  for (const [what, extra, cause] of [
    ['a header line without a colon', 'Not A Header\r\n', /^HPE_/],
    ['a header over 16 KiB', `X-Huge: ${'h'.repeat(20_000)}\r\n`, /^HPE_HEADER_OVERFLOW$/],
    ['a control character in a value', 'X-Bad: a\u0001b\r\n', /^HPE_/],
  ] as const) {
    it(`${what}: error WS_ERR_INVALID_RESPONSE, then close 1006`, async (t) => {
      const ws = client(t, `ws://127.0.0.1:${await answering(t, extra)}`);
      const log = record(ws, ['open', 'error', 'close']);
      const { code } = await nextClose(ws);
      assert.equal(code, 1006);
      assert.deepEqual(
        log.map((e) => e.name),
        ['error', 'close'],
      );
      const error = log[0]!.args[0] as Error & { code?: string; cause?: { code?: string } };
      assert.equal(error.code, 'WS_ERR_INVALID_RESPONSE');
      assert.match(String(error.cause?.code), cause);
    });
  }
});
