import type { TestContext } from 'node:test';
import { WebSocket } from '../../../src/index.js';
import { bindingSettings, type ConnectionSettings } from '../../../src/node/connection/options.js';
import type { Transport } from '../../../src/node/transport/transport.js';
import { encodeFrame, type RawFrame } from '../../helpers/frames.js';
import { defer, quietly } from '../../helpers/node-util.js';
import { FakeTransport } from './fake-transport.js';

/**
 * The one place the SocketBase tests reach members that are not public API (the binding's redesign may
 * rename them): attaching a connection to a transport as the server does after its 101, and the
 * heartbeat's sweep of one connection.
 */
export const internals = {
  attach(ws: WebSocket, transport: Transport, head: Buffer, settings: ConnectionSettings): void {
    ws._attach(transport, head, bindingSettings('server', settings));
  },
  heartbeatTick(ws: WebSocket, maxMissed: number): boolean {
    return ws._heartbeatTick(maxMissed);
  },
};

export const OP = { text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

/** A server-side WebSocket over a FakeTransport (no heartbeat timer unless asked). */
export function open(
  t: TestContext,
  settings: ConnectionSettings = {},
  head: Buffer = Buffer.alloc(0),
): { ws: WebSocket; transport: FakeTransport } {
  const ws = new WebSocket(null);
  const transport = new FakeTransport();
  internals.attach(ws, transport, head, { heartbeat: false, ...settings });
  defer(t, () => quietly(() => ws.terminate()));
  return { ws, transport };
}

/** A frame as a client sends it: masked. */
export function client(frame: RawFrame): Buffer {
  return encodeFrame({ mask: true, ...frame });
}

/** Records the messages of `ws` (data as delivered, not copied). */
export function messagesOf(ws: WebSocket): { data: Buffer; isBinary: boolean }[] {
  const got: { data: Buffer; isBinary: boolean }[] = [];
  ws.on('message', (data, isBinary) => got.push({ data: data as Buffer, isBinary }));
  return got;
}

export function asText(messages: { data: Buffer }[]): string[] {
  return messages.map((m) => m.data.toString());
}

/** A connection for one property run (terminated by the run itself). */
export function openBare(settings: ConnectionSettings = {}): {
  ws: WebSocket;
  transport: FakeTransport;
} {
  const ws = new WebSocket(null);
  const transport = new FakeTransport();
  internals.attach(ws, transport, Buffer.alloc(0), { heartbeat: false, ...settings });
  return { ws, transport };
}
