/**
 * Keeps one process's appends to a topic in their order while the topic's slot changes owner
 * in a Redis Cluster. Appends in flight to the old owner come back with MOVED and ioredis sends
 * them on to the new one; an append made meanwhile would go straight there and overtake them.
 * So an append whose owner differs from the one of the appends still in flight waits until they
 * have settled, then goes (with the others that waited, in order). Nothing waits otherwise.
 */

interface Flight {
  /** The node the appends in flight were sent to. */
  node: string | undefined;
  inflight: number;
  waiting: (() => void)[];
}

export class OwnerGate {
  private readonly topics = new Map<string, Flight>();

  /**
   * @param ownerOf the node that owns a topic's slot now (the slot map's answer)
   * @param maxWaiting appends that may wait per topic: more fail at once
   */
  constructor(
    private readonly ownerOf: (topic: string) => string | undefined,
    private readonly maxWaiting = 1000,
  ) {}

  /** Runs `send` now, or once the topic's appends in flight to another node have settled. */
  run<T>(topic: string, send: () => Promise<T>): Promise<T> {
    const node = this.ownerOf(topic);
    let flight = this.topics.get(topic);
    if (flight === undefined) {
      flight = { node, inflight: 0, waiting: [] };
      this.topics.set(topic, flight);
    }
    if (flight.waiting.length === 0 && (flight.inflight === 0 || flight.node === node)) {
      flight.node = node;
      return this.go(topic, flight, send);
    }
    if (flight.waiting.length >= this.maxWaiting) {
      return Promise.reject(
        new Error(`${this.maxWaiting} publishes to "${topic}" already wait for its slot's move`),
      );
    }
    const waiting = flight;
    return new Promise<T>((resolve, reject) => {
      waiting.waiting.push(() => {
        this.go(topic, waiting, send).then(resolve, reject);
      });
    });
  }

  /** Topics with appends in flight or waiting. */
  get size(): number {
    return this.topics.size;
  }

  private go<T>(topic: string, flight: Flight, send: () => Promise<T>): Promise<T> {
    flight.inflight++;
    let result: Promise<T>;
    try {
      result = send();
    } catch (error) {
      result = Promise.reject(error);
    }
    const settled = () => {
      if (--flight.inflight > 0) return;
      const waiting = flight.waiting;
      if (waiting.length === 0) {
        if (this.topics.get(topic) === flight) this.topics.delete(topic);
        return;
      }
      flight.waiting = [];
      flight.node = this.ownerOf(topic);
      for (const next of waiting) next();
    };
    result.then(settled, settled);
    return result;
  }
}
