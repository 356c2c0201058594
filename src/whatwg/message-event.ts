/**
 * The `message` event of the WHATWG WebSocket: Node's MessageEvent, with two things Node 20's
 * lacks and Chromium's has. Its class string is `[object MessageEvent]` (WebIDL §3.7.6: an
 * interface prototype's @@toStringTag is the interface's name), and `ports` is a frozen empty
 * array, the same one at each access (HTML §9.4.3: `readonly attribute
 * FrozenArray<MessagePort> ports`; a WebSocket message has no ports). Named MessageEvent, so
 * `event.constructor.name` is too; `instanceof MessageEvent` (the global) still holds.
 */
export class MessageEvent<T = unknown> extends globalThis.MessageEvent<T> {
  #ports: readonly MessagePort[] | undefined;

  override get ports(): readonly MessagePort[] {
    this.#ports ??= Object.freeze([]);
    return this.#ports;
  }
}

Object.defineProperty(MessageEvent.prototype, 'ports', { enumerable: true });
Object.defineProperty(MessageEvent.prototype, Symbol.toStringTag, {
  value: 'MessageEvent',
  configurable: true,
});
