export { CloseCode, isValidCloseCode, MAX_CLOSE_REASON_BYTES } from './close-code.js';
export {
  type ClosePayload,
  checkClose,
  encodeClosePayload,
  parseClosePayload,
} from './close-frame.js';
export {
  Connection,
  type ConnectionConfig,
  type ConnectionHandler,
  type ConnectionOptions,
  ConnectionState,
  connectionConfig,
  DEFAULT_MAX_FRAGMENTS,
  DEFAULT_MAX_PAYLOAD,
  type Role,
} from './connection.js';
export { ErrorCode, PeerError, UsageError, WebSocketError } from './errors.js';
export {
  BUDGET_OK,
  BUDGET_REFUSE,
  BUDGET_WAIT,
  type BudgetVerdict,
  type ClientExtensionFactory,
  type DecodeBudget,
  type Extension,
  type ExtensionCallback,
  type ExtensionOffer,
  type ExtensionParam,
  type ServerExtensionFactory,
} from './extension.js';
export {
  checkControlPayload,
  headerSize,
  MAX_HEADER_SIZE,
  writeFrameHeader,
} from './frame-header.js';
export { FrameWriter } from './frame-writer.js';
export { applyMask, type MaskGenerator, randomMask } from './mask.js';
export { isControlOpcode, isReservedOpcode, Opcode } from './opcode.js';
export { prepareFrame } from './prepared-frame.js';
export { Receiver, type ReceiverOptions, type ReceiverSink } from './receiver.js';
export { isUtf8, Utf8Validator } from './utf8.js';
