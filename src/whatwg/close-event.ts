import { toUSVString } from 'node:util';
import { defineInterface } from './webidl.js';

/** `CloseEventInit` (WebSockets Standard, "The CloseEvent interface"). */
export interface CloseEventInit extends EventInit {
  wasClean?: boolean;
  code?: number;
  reason?: string;
}

/**
 * The `close` event of a WebSocket (WebSockets Standard, "The CloseEvent interface"). Node
 * 20 has no global CloseEvent; this one follows the IDL.
 */
export class CloseEvent extends Event {
  readonly #wasClean: boolean;
  readonly #code: number;
  readonly #reason: string;

  constructor(type: string, init: CloseEventInit = {}) {
    super(type, init);
    // biome-ignore lint/complexity/noArguments: WebIDL checks the number of arguments given.
    if (arguments.length === 0) {
      throw new TypeError(
        "Failed to construct 'CloseEvent': 1 argument required, but only 0 present.",
      );
    }
    this.#wasClean = Boolean(init.wasClean);
    this.#code = (Number(init.code ?? 0) & 0xffff) >>> 0;
    this.#reason = init.reason === undefined ? '' : toUSVString(String(init.reason));
  }

  get wasClean(): boolean {
    return this.#wasClean;
  }
  get code(): number {
    return this.#code;
  }
  get reason(): string {
    return this.#reason;
  }
}

defineInterface(CloseEvent, {
  name: 'CloseEvent',
  length: 1,
  members: { wasClean: null, code: null, reason: null },
});
