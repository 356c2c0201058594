export { computeAcceptKey, generateKey, isValidKey, WEBSOCKET_GUID } from './accept-key.js';
export {
  type ClientHandshakeOptions,
  createClientHandshake,
  type ExpectedResponse,
  type ServerResponse,
  validateServerResponse,
} from './client-handshake.js';
export {
  type ExtensionOffer,
  formatExtensionHeader,
  parseExtensionHeader,
} from './extension-header.js';
export { HandshakeError, HandshakeErrorCode } from './handshake-error.js';
export type { HeaderValue, IncomingHeaders, OutgoingHeaders } from './header-fields.js';
export {
  MAX_LEADING_EMPTY_LINES,
  MAX_METHOD_LENGTH,
  type ParsedRequestHead,
  type ParseErrorStatus,
  type ParseResult,
  RequestHeadParser,
  type RequestHeadParserOptions,
} from './http-request-parser.js';
export { type OriginPattern, originCheck } from './origin-policy.js';
export {
  type AcceptOptions,
  buildAcceptResponse,
  buildRejectResponse,
  headerList,
  type RejectedUpgrade,
  rawHeaderList,
  selectSubprotocol,
  type UpgradeRequest,
  type ValidUpgrade,
  validateUpgradeRequest,
} from './server-handshake.js';
export { parseSubprotocolHeader } from './subprotocols.js';
export { hasToken, isToken, parseTokenList } from './tokens.js';
export {
  type AcceptChoice,
  acceptUpgrade,
  asksForUpgrade,
  type CheckedUpgrade,
  checkOrigin,
  checkUpgradeRequest,
  type ExtensionNegotiator,
  type HeaderField,
  refuseUpgrade,
  serializeUpgradeResponse,
  type UpgradeAccept,
  type UpgradeRefusal,
  type UpgradeRequestHead,
  upgradeRequired,
} from './upgrade.js';
export { parseWebSocketUrl, type WebSocketUrl } from './url.js';
