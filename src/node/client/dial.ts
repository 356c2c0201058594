import type { IncomingMessage } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import {
  acceptServerResponse,
  clientOffer,
  PerMessageDeflate,
  resolveDeflateOptions,
} from '../../extensions/index.js';
import {
  createClientHandshake,
  formatExtensionHeader,
  HandshakeError,
  HandshakeErrorCode,
  parseWebSocketUrl,
  validateServerResponse,
} from '../../handshake/index.js';
import { type BindingSettings, bindingSettings } from '../connection/options.js';
import type { SocketBase } from '../connection/socket-base.js';
import { nodeDeflatePort } from '../extensions/zlib-port.js';
import { type ClientOptions, DEFAULT_HANDSHAKE_TIMEOUT } from './client-options.js';
import { requestOptions } from './client-request-options.js';

type Target = Exclude<ReturnType<typeof parseWebSocketUrl>, HandshakeError>;

/**
 * Starts the client's opening handshake (RFC 6455 §4.1) for `ws` and returns the URL it
 * dials. Throws a SyntaxError for an invalid URL and a HandshakeError for invalid protocols.
 */
export function dial(
  ws: SocketBase,
  address: string | URL,
  protocols: string[],
  options: ClientOptions,
): string {
  const target = parseWebSocketUrl(address);
  if (target instanceof HandshakeError) throw asSyntaxError(target);
  const settings = bindingSettings('client', options);
  const deadline = startDeadline(options.handshakeTimeout);
  start(ws, target, protocols, options, settings, deadline, 0);
  return target.url.href;
}

/**
 * One timer from the dial to `open`, across redirects: a socket idle timeout would restart on
 * every byte, so a server trickling its answer could hold the client for ever.
 */
interface Deadline {
  timer: NodeJS.Timeout | undefined;
  /** Fails the request under way. */
  expire: (() => void) | undefined;
}

function startDeadline(timeout = DEFAULT_HANDSHAKE_TIMEOUT): Deadline {
  if (!(typeof timeout === 'number' && timeout >= 0)) {
    throw new TypeError('handshakeTimeout must be a number of milliseconds');
  }
  const deadline: Deadline = { timer: undefined, expire: undefined };
  if (timeout > 0 && timeout !== Number.POSITIVE_INFINITY) {
    // setTimeout takes at most 2^31-1 ms.
    const ms = Math.min(timeout, 0x7fffffff);
    deadline.timer = setTimeout(() => deadline.expire?.(), ms);
  }
  return deadline;
}

function endDeadline(deadline: Deadline): void {
  deadline.expire = undefined;
  if (deadline.timer !== undefined) clearTimeout(deadline.timer);
  deadline.timer = undefined;
}

function start(
  ws: SocketBase,
  target: Target,
  protocols: string[],
  options: ClientOptions,
  settings: BindingSettings,
  deadline: Deadline,
  redirects: number,
): void {
  const {
    headers: extraHeaders,
    origin,
    followRedirects = false,
    maxRedirects = 10,
    perMessageDeflate,
  } = options;
  const passed = requestOptions(options);
  const deflateOptions =
    perMessageDeflate === false ? undefined : resolveDeflateOptions(perMessageDeflate ?? true);
  const { key, headers } = createClientHandshake({
    protocols,
    headers: extraHeaders,
    origin,
    extensions: deflateOptions === undefined ? undefined : clientOffer(deflateOptions),
  });
  const request = target.secure ? https.request : http.request;
  const req = request({
    ...passed,
    host: target.host,
    port: target.port,
    path: target.path,
    method: 'GET',
    headers,
    ...(passed.agent === undefined
      ? { createConnection: target.secure ? tlsConnect : netConnect }
      : {}),
  });
  let settled = false;
  const fail = (error: Error) => {
    if (settled) return;
    settled = true;
    endDeadline(deadline);
    ws._abortHandshake = undefined;
    req.destroy();
    ws._failHandshake(error);
  };
  ws._abortHandshake = (message) =>
    fail(new HandshakeError(HandshakeErrorCode.HandshakeAborted, message));
  deadline.expire = () =>
    fail(
      new HandshakeError(HandshakeErrorCode.HandshakeTimeout, 'Opening handshake has timed out'),
    );

  req.on('error', (error) => fail(responseError(error)));
  req.on('response', (res: IncomingMessage) => {
    if (settled) return;
    const location = res.headers.location;
    const status = res.statusCode ?? 0;
    if (followRedirects && location !== undefined && status >= 300 && status < 400) {
      settled = true;
      req.destroy();
      if (redirects >= maxRedirects) {
        endDeadline(deadline);
        ws._failHandshake(
          new HandshakeError(HandshakeErrorCode.TooManyRedirects, 'Maximum redirects exceeded'),
        );
        return;
      }
      let next: Target | HandshakeError;
      try {
        next = parseWebSocketUrl(new URL(location, target.url));
      } catch {
        next = new HandshakeError(
          HandshakeErrorCode.InvalidUrl,
          `Invalid redirect location: ${location}`,
        );
      }
      if (next instanceof HandshakeError) {
        endDeadline(deadline);
        ws._failHandshake(next);
        return;
      }
      ws._url = next.url.href;
      ws.emit('redirect', ws._url, req);
      const nextOptions = redirectOptions(options, target, next);
      start(ws, next, protocols, nextOptions, settings, deadline, redirects + 1);
      return;
    }
    if (ws.emit('unexpected-response', req, res)) return;
    const error = new HandshakeError(
      HandshakeErrorCode.UnexpectedResponse,
      `Unexpected server response: ${status}`,
    );
    (error as HandshakeError & { statusCode?: number }).statusCode = status;
    fail(error);
  });
  req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (settled) {
      socket.destroy();
      return;
    }
    ws.emit('upgrade', res);
    if (settled) {
      socket.destroy();
      return;
    }
    const result = validateServerResponse(
      { statusCode: res.statusCode ?? 0, headers: res.headers },
      { key, protocols, extensionsOffered: deflateOptions !== undefined },
    );
    if (result instanceof HandshakeError) {
      socket.destroy();
      fail(result);
      return;
    }
    // RFC 7692 §7.1: what the server accepted must fit what was offered.
    let deflate: PerMessageDeflate | undefined;
    if (deflateOptions !== undefined) {
      const params = acceptServerResponse(result.extensions, deflateOptions);
      if (params instanceof HandshakeError) {
        socket.destroy();
        fail(params);
        return;
      }
      if (params !== undefined) {
        deflate = new PerMessageDeflate(
          params,
          'client',
          deflateOptions,
          settings.connection.maxPayload,
          nodeDeflatePort,
        );
        ws._extensions = formatExtensionHeader(result.extensions);
      }
    }
    settled = true;
    endDeadline(deadline);
    ws._abortHandshake = undefined;
    ws._protocol = result.protocol;
    ws._setSocket(socket, head, settings, deflate);
    ws.emit('open');
  });
  req.end();
}

/**
 * Credentials stay with the server they were meant for, as ws and python-websockets keep them:
 * a redirect to another host or port drops `Authorization`, `Cookie` and the `auth` option
 * (and a given `Host`); one from wss: to ws: drops them too, as they would cross in clear.
 * Dropped once, they stay dropped for the rest of the chain.
 */
function redirectOptions(options: ClientOptions, from: Target, to: Target): ClientOptions {
  // URL has lower-cased the host names; the ports are the effective ones (80/443 by default).
  const sameServer = from.host === to.host && from.port === to.port;
  if (sameServer && !(from.secure && !to.secure)) return options;
  const { auth: _auth, headers: given, ...rest } = options;
  if (given === undefined) return rest;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(given)) {
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower === 'cookie') continue;
    if (lower === 'host' && !sameServer) continue;
    headers[name] = value;
  }
  return { ...rest, headers };
}

// http.request passes its whole options object, whose `path` is the URL path: not a socket path.
function netConnect(options: http.ClientRequestArgs): net.Socket {
  return net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
}

function tlsConnect(options: http.ClientRequestArgs): tls.TLSSocket {
  const tlsOptions = options as tls.ConnectionOptions & { path?: string };
  const host = options.host ?? undefined;
  const servername = tlsOptions.servername ?? (host && !net.isIP(host) ? host : undefined);
  return tls.connect({ ...tlsOptions, path: undefined, servername } as tls.ConnectionOptions);
}

/**
 * Node's HTTP parser refuses a malformed answer with an `HPE_*` error: that is the server's
 * fault in the handshake, reported as WS_ERR_INVALID_RESPONSE (Node's error as its cause).
 * Network and TLS errors (ECONNREFUSED, ECONNRESET, certificates) are passed on as they are.
 */
function responseError(error: Error): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (typeof code !== 'string' || !code.startsWith('HPE_')) return error;
  const wrapped = new HandshakeError(
    HandshakeErrorCode.InvalidResponse,
    `Invalid server response: ${error.message}`,
  );
  (wrapped as Error).cause = error;
  return wrapped;
}

function asSyntaxError(error: HandshakeError): SyntaxError {
  const syntax = new SyntaxError(error.message) as SyntaxError & { code: string };
  syntax.code = error.code;
  return syntax;
}
