import type { EventEmitter } from 'node:events';
import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type CheckedUpgrade,
  checkOrigin,
  checkUpgradeRequest,
  type ExtensionNegotiator,
  HandshakeError,
  type OutgoingHeaders,
  serializeUpgradeResponse,
  type UpgradeRefusal,
  type UpgradeRequestHead,
} from '../../handshake/index.js';
import { ErrorCode, UsageError } from '../../protocol/errors.js';
import type { ServerAgreement } from '../../protocol/extension.js';
import type { BindingSettings } from '../connection/options.js';
import type { UpgradeSocket } from '../transport/upgrade-socket.js';
import { WebSocket } from '../websocket.js';
import { clientAddress, type ServerAdmission } from './server-admission.js';
import type { ServerOptions, VerifyClientInfo, WebSocketServerEvents } from './server-options.js';
import { acceptHead, chooseProtocol, runVerifyClient } from './upgrade-accept.js';
import { rejectionResponse, UpgradeRejection } from './upgrade-rejection.js';

/** What the upgrade path needs of its server (WebSocketServer). */
export interface UpgradeHost extends EventEmitter<WebSocketServerEvents> {
  readonly options: ServerOptions;
  shouldHandle(req: http.IncomingMessage): boolean;
}

/** How a server's upgrade path is set up. */
export interface UpgradeSetup {
  readonly settings: BindingSettings;
  /** The one extension negotiation (`negotiateExtensions`), given to `acceptUpgrade`. */
  readonly negotiate: ExtensionNegotiator<ServerAgreement> | undefined;
  /** The `origins` / `allowMissingOrigin` check, when set. */
  readonly originAllowed: ((origin: string | undefined) => boolean) | undefined;
  readonly admission: ServerAdmission | undefined;
  /** The server is ours: its sockets were counted by `admission` at their TCP accept. */
  readonly countedAtAccept: boolean;
  /** Whether the server still takes connections (`close()` not called). */
  running(): boolean;
  /** A connection opened on `socket`: the server tracks it. */
  opened(ws: WebSocket, socket: Duplex): void;
}

/**
 * A server's upgrade path, the same for every transport: admission, the request checked
 * (`checkUpgradeRequest`, src/handshake/upgrade.ts), the path, the origin (`checkOrigin`),
 * the application's `verifyClient` and `authenticate`, then `acceptUpgrade` and a new
 * WebSocket, or a refusal with its status. The request object with ws's shape is the
 * transport's, asked for (`request()`) only when a hook or listener needs it.
 */
export class UpgradeHandler {
  constructor(
    private readonly _host: UpgradeHost,
    private readonly _setup: UpgradeSetup,
  ) {}

  /**
   * Completes (or refuses) the upgrade of the request `head` on `socket`; calls
   * `callback(ws, req)` once the connection is open. `rest` is what was read past the
   * request's head; `request()` gives the request object hooks and listeners receive.
   */
  upgrade(
    head: UpgradeRequestHead | (() => UpgradeRequestHead),
    request: () => http.IncomingMessage,
    socket: UpgradeSocket,
    rest: Buffer,
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    // Whatever throws on the way (an application hook, a header it gave, or a bug of ours)
    // ends this one request with 500, never the process.
    try {
      this._check(typeof head === 'function' ? head() : head, request, socket, rest, callback);
    } catch (error) {
      this._refuseWith(socket, error, true);
    }
  }

  private _check(
    head: UpgradeRequestHead,
    request: () => http.IncomingMessage,
    socket: UpgradeSocket,
    rest: Buffer,
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    // Admission first: a refused connection costs no more work (503, as for a busy server).
    // A server of ours counted the socket at its accept already.
    const { admission } = this._setup;
    if (admission !== undefined && !this._setup.countedAtAccept) {
      if (!admission.admit(socket.socket, clientAddress(request().socket))) {
        this._refuse(socket, 503, 'Too many connections', { 'Retry-After': '1' });
        return;
      }
    }
    const checked = checkUpgradeRequest(head);
    if (!checked.ok) {
      if (this._host.listenerCount('wsClientError') > 0) {
        const error = new HandshakeError(
          ErrorCode.InvalidUpgradeRequest,
          checked.reason,
          checked.status,
        );
        this._host.emit('wsClientError', error, socket.socket, request());
        return;
      }
      this._refuseWithResult(socket, checked);
      return;
    }
    const req = request();
    if (!this._host.shouldHandle(req)) {
      this._refuse(socket, 400, 'Invalid path');
      return;
    }
    const badOrigin = checkOrigin(checked, this._setup.originAllowed);
    if (badOrigin !== undefined) {
      this._refuseWithResult(socket, badOrigin);
      return;
    }
    const complete = (data: unknown) => {
      let ws: WebSocket | undefined;
      try {
        ws = this._complete(req, socket, rest, checked, data);
      } catch (error) {
        this._refuseWith(socket, error, true);
        return;
      }
      // The application's own listener runs outside the guard: its errors are its own.
      if (ws !== undefined) callback(ws, req);
    };
    const { verifyClient, authenticate } = this._host.options;
    const afterVerify = () => {
      if (authenticate === undefined) {
        complete(undefined);
        return;
      }
      let result: unknown;
      try {
        result = authenticate(req);
      } catch (error) {
        this._refuseWith(socket, error);
        return;
      }
      if (isPromiseLike(result)) {
        result.then(complete, (error: unknown) => this._refuseWith(socket, error));
      } else {
        complete(result);
      }
    };
    if (verifyClient === undefined) {
      afterVerify();
      return;
    }
    const info: VerifyClientInfo = {
      origin: req.headers.origin as string | undefined,
      secure: Boolean((req.socket as { encrypted?: boolean }).encrypted),
      req,
    };
    runVerifyClient(verifyClient, info, (verified, code, message, headers) => {
      // Maybe called later from the application: nothing may throw back into it.
      try {
        if (verified) afterVerify();
        else this._refuse(socket, code ?? 401, message, headers);
      } catch (error) {
        this._refuseWith(socket, error, true);
      }
    });
  }

  /** Writes the 101 and opens the connection; undefined when it was refused instead. */
  private _complete(
    req: http.IncomingMessage,
    socket: UpgradeSocket,
    rest: Buffer,
    checked: CheckedUpgrade,
    data: unknown,
  ): WebSocket | undefined {
    // The peer may have gone while an asynchronous check ran.
    if (!socket.open) {
      this._setup.admission?.release(socket.socket);
      socket.destroy();
      return undefined;
    }
    if (socket.upgraded) {
      throw new UsageError(
        ErrorCode.InvalidState,
        'handleUpgrade() was called more than once with the same socket',
      );
    }
    if (!this._setup.running()) {
      this._refuse(socket, 503);
      return undefined;
    }
    let protocol: string | undefined;
    try {
      protocol = chooseProtocol(checked.protocols, this._host.options.handleProtocols, req);
    } catch (error) {
      this._refuseWith(socket, error);
      return undefined;
    }
    const { response, accepted: agreed } = acceptHead(
      checked,
      protocol,
      this._setup.negotiate,
      this._host.listenerCount('headers') > 0
        ? (lines) => this._host.emit('headers', lines, req)
        : undefined,
    );
    socket.upgraded = true;
    const accepted = socket.accept(response, rest);
    const ws = new WebSocket(null);
    ws._protocol = agreed.protocol;
    ws._extensions = agreed.extensions;
    ws.data = data;
    ws._attach(accepted.transport, accepted.head, this._setup.settings, agreed.agreed?.create());
    this._setup.opened(ws, socket.socket);
    return ws;
  }

  /**
   * Refuses after a hook threw or rejected: an `UpgradeRejection` with its status and headers,
   * anything else with 500 and an `error` event (when listened to). `ours`: the error did not
   * come from a hook meant to refuse (a bug, or a throwing listener), so it is always reported.
   */
  private _refuseWith(socket: UpgradeSocket, error: unknown, ours = false): void {
    if (!ours && error instanceof UpgradeRejection) {
      this._refuse(socket, error.status, error.message, error.headers);
      return;
    }
    this.report(error);
    if (socket.upgraded) return;
    this._refuse(socket, 500);
  }

  /** Answers with a refusal of the upgrade step (`checkUpgradeRequest`, `checkOrigin`). */
  private _refuseWithResult(socket: UpgradeSocket, refusal: UpgradeRefusal): void {
    this._setup.admission?.release(socket.socket);
    if (socket.upgraded) return;
    socket.refuse(serializeUpgradeResponse(refusal));
  }

  /** An error on the upgrade path the application should see, if it listens. */
  report(error: unknown): void {
    if (this._host.listenerCount('error') > 0) {
      this._host.emit('error', error instanceof Error ? error : new Error(String(error)));
    }
  }

  /**
   * Answers a refused upgrade with `status`, then closes the socket. A status or header the
   * application gave that cannot be written (a value with CR, LF or a byte >= 0x80, a status
   * outside 300-599) is reported and the answer is a 500 instead.
   */
  private _refuse(
    socket: UpgradeSocket,
    status: number,
    reason?: string,
    headers?: OutgoingHeaders,
  ): void {
    this._setup.admission?.release(socket.socket);
    if (socket.upgraded) return;
    const { response, error } = rejectionResponse(status, reason, headers);
    if (error !== undefined) this.report(error);
    socket.refuse(response);
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}
