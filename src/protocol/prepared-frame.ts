import { ErrorCode, UsageError } from './errors.js';
import { headerSize, writeFrameHeader } from './frame-header.js';
import { Opcode } from './opcode.js';

/**
 * Serializes one whole data message as a single unmasked frame (a server's, RFC 6455 §5.1),
 * header and payload in one buffer: the bytes to hand, unchanged, to every connection that
 * gets the message (`Connection.sendPreparedFrame`). A pub/sub publish is framed once this way
 * however many subscribers receive it.
 *
 * `rsv1` marks a payload already compressed by permessage-deflate (RFC 7692 §6.1).
 */
export function prepareFrame(
  opcode: typeof Opcode.Text | typeof Opcode.Binary,
  payload: string | Uint8Array,
  rsv1 = false,
): Buffer {
  if (opcode !== Opcode.Text && opcode !== Opcode.Binary) {
    throw new UsageError(ErrorCode.InvalidArgument, 'a prepared frame is Text or Binary');
  }
  const bytes = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const hs = headerSize(bytes.length, false);
  const frame = Buffer.allocUnsafe(hs + bytes.length);
  writeFrameHeader(frame, 0, true, rsv1, opcode, bytes.length, false);
  frame.set(bytes, hs);
  return frame;
}
