import type { EventEmitter } from 'node:events';
import type { RawData, WebSocketEvents } from './connection/websocket-events.js';

/** What the iterator needs of a connection (a WebSocket): its events, and to hold reading. */
export interface MessageSource extends EventEmitter<WebSocketEvents> {
  pause(): void;
  resume(): void;
}

type Entry = [RawData, boolean];

/**
 * `ws.messages()`: the messages of a connection as an async iterator, with backpressure: when
 * the consumer is `highWaterMark` messages behind, the connection stops reading from the peer
 * (TCP fills up and the peer slows down); it reads again once half of them are consumed.
 */
export class MessageIterator implements AsyncIterableIterator<Entry> {
  private readonly buffer: Entry[] = [];
  private readonly waiting: ((result: IteratorResult<Entry>) => void)[] = [];
  private ended = false;
  private pausedHere = false;

  constructor(
    private readonly ws: MessageSource,
    private readonly highWaterMark: number,
  ) {
    if (!(highWaterMark >= 1)) throw new TypeError('highWaterMark must be at least 1');
    ws.on('message', this.onMessage);
    ws.on('close', this.onClose);
  }

  next(): Promise<IteratorResult<Entry>> {
    const entry = this.buffer.shift();
    if (entry !== undefined) {
      if (this.pausedHere && this.buffer.length <= this.highWaterMark >> 1) {
        this.pausedHere = false;
        this.ws.resume();
      }
      return Promise.resolve({ value: entry, done: false });
    }
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Stops iterating (a `break` in `for await`): the connection reads again, messages go to listeners only. */
  return(): Promise<IteratorResult<Entry>> {
    this.finish();
    this.buffer.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<Entry> {
    return this;
  }

  private readonly onMessage = (data: RawData, isBinary: boolean): void => {
    const resolve = this.waiting.shift();
    if (resolve !== undefined) {
      resolve({ value: [data, isBinary], done: false });
      return;
    }
    this.buffer.push([data, isBinary]);
    if (!this.pausedHere && this.buffer.length >= this.highWaterMark) {
      this.pausedHere = true;
      this.ws.pause();
    }
  };

  private readonly onClose = (): void => {
    this.finish();
  };

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.ws.off('message', this.onMessage);
    this.ws.off('close', this.onClose);
    if (this.pausedHere) {
      this.pausedHere = false;
      this.ws.resume();
    }
    for (const resolve of this.waiting.splice(0)) resolve({ value: undefined, done: true });
  }
}
