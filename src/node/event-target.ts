import type { EventEmitter } from 'node:events';

/**
 * The browser-style API that ws also offers on its WebSocket: `addEventListener`,
 * `removeEventListener` and the `onopen`/`onmessage`/`onclose`/`onerror` attributes, on top of
 * the EventEmitter events. Text messages arrive as strings here, as in ws and browsers.
 */

const kTarget = Symbol('tsws.target');
const kHandler = Symbol('tsws.handler');
const kAttribute = Symbol('tsws.attribute');

export class WsEvent {
  readonly type: string;
  [kTarget]: unknown = null;
  constructor(type: string) {
    this.type = type;
  }
  get target(): unknown {
    return this[kTarget];
  }
}

export class WsMessageEvent extends WsEvent {
  readonly data: unknown;
  constructor(data: unknown) {
    super('message');
    this.data = data;
  }
}

export class WsCloseEvent extends WsEvent {
  readonly code: number;
  readonly reason: string;
  readonly wasClean: boolean;
  constructor(code: number, reason: string, wasClean: boolean) {
    super('close');
    this.code = code;
    this.reason = reason;
    this.wasClean = wasClean;
  }
}

export class WsErrorEvent extends WsEvent {
  readonly error: unknown;
  readonly message: string;
  constructor(error: Error) {
    super('error');
    this.error = error;
    this.message = error.message;
  }
}

export type EventHandler =
  | ((this: unknown, event: WsEvent) => void)
  | { handleEvent(event: WsEvent): void };

type Wrapper = ((...args: unknown[]) => void) & {
  [kHandler]?: EventHandler;
  [kAttribute]?: boolean;
};

/** What the target must provide besides EventEmitter: whether both close frames went out. */
interface Target extends EventEmitter {
  readonly _wasClean: boolean;
}

const TYPES = new Set(['open', 'message', 'close', 'error']);

function wrap(target: Target, type: string, handler: EventHandler, attribute: boolean): Wrapper {
  const call = (event: WsEvent) => {
    event[kTarget] = target;
    if (typeof handler === 'function') handler.call(target, event);
    else handler.handleEvent(event);
  };
  let wrapper: Wrapper;
  if (type === 'message') {
    wrapper = (data, isBinary) =>
      call(new WsMessageEvent(isBinary ? data : (data as Buffer).toString()));
  } else if (type === 'close') {
    wrapper = (code, reason) =>
      call(new WsCloseEvent(code as number, (reason as Buffer).toString(), target._wasClean));
  } else if (type === 'error') {
    wrapper = (error) => call(new WsErrorEvent(error as Error));
  } else {
    wrapper = () => call(new WsEvent('open'));
  }
  wrapper[kHandler] = handler;
  wrapper[kAttribute] = attribute;
  return wrapper;
}

export interface EventTargetMethods {
  addEventListener(type: string, handler: EventHandler, options?: { once?: boolean }): void;
  removeEventListener(type: string, handler: EventHandler): void;
  onopen: EventHandler | null;
  onmessage: EventHandler | null;
  onclose: EventHandler | null;
  onerror: EventHandler | null;
}

/** Adds the methods and `on*` attributes to a class whose instances are `Target`s. */
export function installEventTarget(proto: object): void {
  const methods: Pick<EventTargetMethods, 'addEventListener' | 'removeEventListener'> = {
    addEventListener(this: Target, type, handler, options = {}) {
      if (!TYPES.has(type) || handler == null) return;
      // The same listener is added once (as with EventTarget).
      for (const listener of this.listeners(type) as Wrapper[]) {
        if (listener[kHandler] === handler && !listener[kAttribute]) return;
      }
      const wrapper = wrap(this, type, handler, false);
      if (options.once) this.once(type, wrapper);
      else this.on(type, wrapper);
    },
    removeEventListener(this: Target, type, handler) {
      for (const listener of this.listeners(type) as Wrapper[]) {
        if (listener[kHandler] === handler && !listener[kAttribute]) {
          this.removeListener(type, listener);
          return;
        }
      }
    },
  };
  Object.assign(proto, methods);
  for (const type of TYPES) {
    Object.defineProperty(proto, `on${type}`, {
      enumerable: true,
      configurable: true,
      get(this: Target) {
        for (const listener of this.listeners(type) as Wrapper[]) {
          if (listener[kAttribute]) return listener[kHandler];
        }
        return null;
      },
      set(this: Target, handler: EventHandler | null) {
        for (const listener of this.listeners(type) as Wrapper[]) {
          if (listener[kAttribute]) {
            this.removeListener(type, listener);
            break;
          }
        }
        if (typeof handler === 'function' || (handler !== null && typeof handler === 'object')) {
          this.on(type, wrap(this, type, handler, true));
        }
      },
    });
  }
}
