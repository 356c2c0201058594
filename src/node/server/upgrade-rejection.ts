import { buildRejectResponse, type OutgoingHeaders } from '../../handshake/index.js';
import { ErrorCode, WebSocketError } from '../../protocol/errors.js';

/**
 * Thrown (or rejected with) by a server's `authenticate` hook to refuse an upgrade with an
 * HTTP status, e.g. `throw new UpgradeRejection(401, 'Login first', { 'WWW-Authenticate': 'Bearer' })`.
 */
export class UpgradeRejection extends WebSocketError {
  readonly status: number;
  readonly headers: OutgoingHeaders | undefined;

  constructor(status: number, message?: string, headers?: OutgoingHeaders) {
    super(ErrorCode.UpgradeRejected, message ?? `Upgrade refused with ${status}`);
    if (!Number.isInteger(status) || status < 400 || status > 599) {
      throw new RangeError('an upgrade is refused with a 4xx or 5xx status');
    }
    this.status = status;
    this.headers = headers;
  }
}

/**
 * The refusal to write for `status`, `reason` and `headers` given by the application: never
 * throws. A status or header that cannot be written (a value with CR, LF or a byte >= 0x80, a
 * status outside 300-599...) gives a plain 500 instead, with the error to report.
 */
export function rejectionResponse(
  status: number,
  reason: unknown,
  headers: unknown,
): { response: string; error?: unknown } {
  try {
    return {
      response: buildRejectResponse(status, {
        reason: typeof reason === 'string' ? reason : undefined,
        headers: headers as OutgoingHeaders | undefined,
      }),
    };
  } catch (error) {
    return { response: buildRejectResponse(500), error };
  }
}
