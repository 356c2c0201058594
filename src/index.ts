export { HandshakeError } from './handshake/index.js';
export * from './node/index.js';
export {
  CloseCode,
  ErrorCode,
  isValidCloseCode,
  Opcode,
  PeerError,
  UsageError,
  WebSocketError,
} from './protocol/index.js';
