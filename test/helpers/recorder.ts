import {
  Connection,
  type ConnectionHandler,
  type ConnectionOptions,
  type Extension,
  type PeerError,
} from '../../src/protocol/index.js';
import { type DecodedFrame, decodeFrames } from './frames.js';

export type CoreEvent =
  | { type: 'message'; data: Buffer; isBinary: boolean }
  | { type: 'ping'; data: Buffer }
  | { type: 'pong'; data: Buffer }
  | { type: 'close'; code: number; reason: string }
  | { type: 'error'; code: string; closeCode: number };

/** A sans-I/O connection whose events are recorded (payloads copied, since chunks are reused). */
export function recordingConnection(
  options: ConnectionOptions,
  extension?: Extension,
): {
  conn: Connection;
  events: CoreEvent[];
  /** Frames the connection wrote so far (decoded), and whether it asked for EOF. */
  output(): { frames: DecodedFrame[]; eof: boolean };
} {
  const events: CoreEvent[] = [];
  const handler: ConnectionHandler = {
    onMessage: (data, isBinary) =>
      events.push({ type: 'message', data: Buffer.from(data), isBinary }),
    onPing: (data) => events.push({ type: 'ping', data: Buffer.from(data) }),
    onPong: (data) => events.push({ type: 'pong', data: Buffer.from(data) }),
    onClose: (code, reason) => events.push({ type: 'close', code, reason: reason.toString() }),
    onError: (error: PeerError) =>
      events.push({ type: 'error', code: error.code, closeCode: error.closeCode }),
  };
  const conn = new Connection(options, handler, extension);
  let pending = Buffer.alloc(0);
  let eof = false;
  return {
    conn,
    events,
    output() {
      pending = Buffer.concat([pending, ...conn.dataToSend()]);
      if (conn.eofToSend()) eof = true;
      const { frames, rest } = decodeFrames(pending);
      pending = Buffer.from(rest);
      return { frames, eof };
    },
  };
}
