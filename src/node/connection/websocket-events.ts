import type { ClientRequest, IncomingMessage } from 'node:http';
import type { DroppedMessage } from '../send/send-writer.js';

/** A received binary message, per `binaryType`: a Buffer, an ArrayBuffer, or a list of Buffers. */
export type RawData = Buffer | ArrayBuffer | Buffer[];

/** The events of a WebSocket and their arguments. */
export interface WebSocketEvents {
  open: [];
  message: [data: RawData, isBinary: boolean];
  ping: [data: Buffer];
  pong: [data: Buffer];
  close: [code: number, reason: Buffer];
  error: [error: Error];
  upgrade: [response: IncomingMessage];
  'unexpected-response': [request: ClientRequest, response: IncomingMessage];
  redirect: [url: string, request: ClientRequest];
  /**
   * After a `send()` that returned false: nothing waits in tsws any more and the socket is
   * under its hold mark, so sending may go on. Never emitted from inside `send()`.
   */
  drain: [];
  /** A backpressure policy dropped a whole message (emitted from inside the `send()` call). */
  dropped: [info: DroppedMessage];
}
