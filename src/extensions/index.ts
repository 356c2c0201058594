export { PerMessageDeflate } from './permessage-deflate/codec.js';
export type {
  DeflatePort,
  DeflatePortFactory,
  DeflatePortSettings,
  PortCallback,
} from './permessage-deflate/deflate-port.js';
export {
  deflateClientFactory,
  deflateServerFactory,
} from './permessage-deflate/factories.js';
export { Limiter, zlibLimiter } from './permessage-deflate/limiter.js';
export {
  acceptServerResponse,
  agreeServer,
  clientOffer,
  clientOfferElement,
  type DeflateParams,
  negotiateServer,
  PERMESSAGE_DEFLATE,
  type ServerAgreement,
} from './permessage-deflate/negotiation.js';
export {
  type PerMessageDeflateOptions,
  type ResolvedDeflateOptions,
  resolveDeflateOptions,
} from './permessage-deflate/options.js';
export {
  compressAlone,
  type SharedCompression,
} from './permessage-deflate/shared-compression.js';
