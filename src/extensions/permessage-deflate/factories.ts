import type {
  ClientExtensionFactory,
  Extension,
  ExtensionOffer,
  ServerExtensionFactory,
} from '../../protocol/extension.js';
import { PerMessageDeflate } from './codec.js';
import type { DeflatePortFactory } from './deflate-port.js';
import {
  acceptServerResponse,
  agreeServer,
  clientOfferElement,
  PERMESSAGE_DEFLATE,
} from './negotiation.js';
import type { ResolvedDeflateOptions } from './options.js';

/**
 * A server's permessage-deflate negotiation (RFC 7692 §5, §7): picks the first acceptable offer
 * and makes the connection's extension over `port`.
 */
export function deflateServerFactory(
  options: ResolvedDeflateOptions,
  maxPayload: number,
  port: DeflatePortFactory,
): ServerExtensionFactory {
  return {
    name: PERMESSAGE_DEFLATE,
    accept(offers: readonly ExtensionOffer[]) {
      const agreed = agreeServer(offers, options);
      if (agreed === undefined) return undefined;
      const extension = new PerMessageDeflate(agreed.params, 'server', options, maxPayload, port);
      return { answer: agreed.answer, extension };
    },
  };
}

/** A client's permessage-deflate negotiation: the offer, then the server's answer checked. */
export function deflateClientFactory(
  options: ResolvedDeflateOptions,
  maxPayload: number,
  port: DeflatePortFactory,
): ClientExtensionFactory {
  return {
    name: PERMESSAGE_DEFLATE,
    offer: () => clientOfferElement(options),
    accept(answer: ExtensionOffer): Extension | Error {
      const params = acceptServerResponse([answer], options);
      if (params instanceof Error) return params;
      // One answer naming the extension always gives parameters (or an error).
      return new PerMessageDeflate(params!, 'client', options, maxPayload, port);
    },
  };
}
