import type { RequestOptions } from 'node:https';
import type { ClientOptions, DialerOption, ExtraTlsOption } from './client-options.js';

/** The options of `new WebSocket()` that go to `http.request`/`https.request`/`tls.connect`. */
export type PassThroughOption = Exclude<keyof RequestOptions, DialerOption> | ExtraTlsOption;

/**
 * The allow-list. Typed as a Record, so tsc fails when it misses an option of @types/node's
 * `RequestOptions` (a new Node option must be decided on here) or names anything else: tsws's
 * own options (handshakeTimeout, maxPayload, rateLimit...) can never be listed by mistake.
 */
const PASS_THROUGH: Record<PassThroughOption, true> = {
  // http.request (and the net.connect it makes).
  agent: true,
  auth: true,
  createConnection: true,
  defaultPort: true,
  family: true,
  hints: true,
  insecureHTTPParser: true,
  joinDuplicateHeaders: true,
  localAddress: true,
  localPort: true,
  lookup: true,
  maxHeaderSize: true,
  setHost: true,
  signal: true,
  socketPath: true,
  uniqueHeaders: true,
  // https.request -> tls.connect.
  ALPNCallback: true,
  ALPNProtocols: true,
  allowPartialTrustChain: true,
  ca: true,
  cert: true,
  checkServerIdentity: true,
  ciphers: true,
  clientCertEngine: true,
  crl: true,
  dhparam: true,
  ecdhCurve: true,
  honorCipherOrder: true,
  key: true,
  maxVersion: true,
  minDHSize: true,
  minVersion: true,
  passphrase: true,
  pfx: true,
  privateKeyEngine: true,
  privateKeyIdentifier: true,
  rejectUnauthorized: true,
  secureContext: true,
  secureOptions: true,
  secureProtocol: true,
  servername: true,
  session: true,
  sessionIdContext: true,
  sessionTimeout: true,
  sigalgs: true,
  ticketKeys: true,
};

/** The names on the allow-list. */
export const PASS_THROUGH_OPTIONS = Object.freeze(
  Object.keys(PASS_THROUGH),
) as readonly PassThroughOption[];

/**
 * The part of the client's options handed to `http.request`/`https.request`: only the names on
 * the allow-list, and only those given (an explicit `undefined` is left out too).
 */
export function requestOptions(options: ClientOptions): Pick<ClientOptions, PassThroughOption> {
  const picked: Record<string, unknown> = {};
  for (const name of PASS_THROUGH_OPTIONS) {
    if (options[name] !== undefined) picked[name] = options[name];
  }
  return picked as Pick<ClientOptions, PassThroughOption>;
}
