import type * as http from 'node:http';
import { deflateServerFactory, type ResolvedDeflateOptions } from '../../extensions/index.js';
import {
  acceptUpgrade,
  type CheckedUpgrade,
  type ExtensionNegotiator,
  HandshakeError,
  HandshakeErrorCode,
  serializeUpgradeResponse,
  type UpgradeAccept,
} from '../../handshake/index.js';
import { ErrorCode, type ServerExtensionFactory, UsageError } from '../../protocol/index.js';
import { nodeDeflatePort } from '../extensions/zlib-port.js';
import type { ServerOptions, VerifyClientCallback, VerifyClientInfo } from './server-options.js';

/**
 * The subprotocol to answer with (RFC 6455 §4.2.2 step 4): `handleProtocols`' choice, or the
 * client's first offer. Throws what the hook throws, and for a name the client did not offer.
 */
export function chooseProtocol(
  offered: string[],
  handleProtocols: ServerOptions['handleProtocols'],
  req: http.IncomingMessage,
): string | undefined {
  if (offered.length === 0) return undefined;
  const chosen = handleProtocols ? handleProtocols(new Set(offered), req) : offered[0];
  if (typeof chosen !== 'string') return undefined;
  if (!offered.includes(chosen)) {
    throw new UsageError(
      ErrorCode.InvalidArgument,
      `handleProtocols returned "${chosen}", which the client did not offer`,
    );
  }
  return chosen;
}

export interface AcceptHead<T> {
  response: string;
  accepted: UpgradeAccept<T>;
}

/**
 * The 101 for `checked` (`acceptUpgrade`, with the extensions `negotiate` agrees) as bytes.
 * `onHeaders` (the server's `headers` event) may change the lines; one with CR or LF would
 * inject headers or a body, and throws.
 */
export function acceptHead<T>(
  checked: CheckedUpgrade,
  protocol: string | undefined,
  negotiate: ExtensionNegotiator<T> | undefined,
  onHeaders: ((lines: string[]) => void) | undefined,
): AcceptHead<T> {
  const accepted = acceptUpgrade(checked, { protocol, negotiate });
  let response = serializeUpgradeResponse(accepted);
  if (onHeaders !== undefined) {
    const lines = response.slice(0, -4).split('\r\n');
    onHeaders(lines);
    if (lines.some((line) => /[\r\n]/.test(line))) {
      throw new HandshakeError(
        HandshakeErrorCode.InvalidHeader,
        'A headers listener added a line with CR or LF',
      );
    }
    response = `${lines.join('\r\n')}\r\n\r\n`;
  }
  return { response, accepted };
}

/**
 * The server's extensions, in its order of preference: permessage-deflate (RFC 7692) when
 * compression is on, its zlib work on the binding's port. `negotiateExtensions` (handshake/
 * upgrade.ts) turns them into the one negotiation `acceptUpgrade` runs.
 */
export function serverExtensions(
  deflateOptions: ResolvedDeflateOptions | undefined,
  maxPayload: number,
): ServerExtensionFactory[] {
  if (deflateOptions === undefined) return [];
  return [deflateServerFactory(deflateOptions, maxPayload, nodeDeflatePort)];
}

/**
 * Runs ws's `verifyClient` (with a callback when it takes two arguments), and gives its
 * verdict once: `(true)`, or `(false, status, message, headers)` (401 by default).
 */
export function runVerifyClient(
  verifyClient: NonNullable<ServerOptions['verifyClient']>,
  info: VerifyClientInfo,
  verdict: VerifyClientCallback,
): void {
  if (verifyClient.length === 2) {
    let answered = false;
    (verifyClient as (i: VerifyClientInfo, cb: VerifyClientCallback) => void)(
      info,
      (verified, code, message, headers) => {
        if (answered) return;
        answered = true;
        if (verified) verdict(true);
        else verdict(false, code ?? 401, message, headers);
      },
    );
  } else if ((verifyClient as (i: VerifyClientInfo) => boolean)(info)) {
    verdict(true);
  } else {
    verdict(false, 401);
  }
}
