export { PerMessageDeflate } from './permessage-deflate/codec.js';
export type {
  DeflatePort,
  DeflatePortFactory,
  DeflatePortSettings,
  PortCallback,
} from './permessage-deflate/deflate-port.js';
export { Limiter, zlibLimiter } from './permessage-deflate/limiter.js';
export {
  acceptServerResponse,
  clientOffer,
  type DeflateParams,
  negotiateServer,
  PERMESSAGE_DEFLATE,
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
