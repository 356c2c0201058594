/** What `subscribe` and `unsubscribe` changed. */
export const Change = {
  /** Nothing (already subscribed, or not subscribed). */
  None: 0,
  /** The subscriber joined or left; the topic had or keeps others. */
  Subscriber: 1,
  /** The topic got its first subscriber, or lost its last one. */
  Topic: 2,
} as const;
export type Change = (typeof Change)[keyof typeof Change];

/**
 * Who is subscribed to what, in both directions: subscribers per topic (for a publish) and
 * topics per subscriber (for `topics` and to leave everything at close). Each subscription
 * holds a small number of flags for the caller. Pure bookkeeping: no I/O, no delivery.
 */
export class TopicRegistry<S> {
  private readonly byTopic = new Map<string, Map<S, number>>();
  private readonly bySubscriber = new Map<S, Set<string>>();

  /** Subscribes `subscriber` to `topic` with `flags` (updated when already subscribed). */
  subscribe(subscriber: S, topic: string, flags = 0): Change {
    let subscribers = this.byTopic.get(topic);
    const first = subscribers === undefined;
    if (subscribers === undefined) {
      subscribers = new Map();
      this.byTopic.set(topic, subscribers);
    } else if (subscribers.has(subscriber)) {
      subscribers.set(subscriber, flags);
      return Change.None;
    }
    subscribers.set(subscriber, flags);
    let topics = this.bySubscriber.get(subscriber);
    if (topics === undefined) {
      topics = new Set();
      this.bySubscriber.set(subscriber, topics);
    }
    topics.add(topic);
    return first ? Change.Topic : Change.Subscriber;
  }

  unsubscribe(subscriber: S, topic: string): Change {
    const subscribers = this.byTopic.get(topic);
    if (subscribers === undefined || !subscribers.delete(subscriber)) return Change.None;
    const topics = this.bySubscriber.get(subscriber)!;
    topics.delete(topic);
    if (topics.size === 0) this.bySubscriber.delete(subscriber);
    if (subscribers.size > 0) return Change.Subscriber;
    this.byTopic.delete(topic);
    return Change.Topic;
  }

  /** Unsubscribes `subscriber` from everything; returns the topics left without subscribers. */
  removeSubscriber(subscriber: S): string[] {
    const topics = this.bySubscriber.get(subscriber);
    if (topics === undefined) return [];
    this.bySubscriber.delete(subscriber);
    const emptied: string[] = [];
    for (const topic of topics) {
      const subscribers = this.byTopic.get(topic)!;
      subscribers.delete(subscriber);
      if (subscribers.size === 0) {
        this.byTopic.delete(topic);
        emptied.push(topic);
      }
    }
    return emptied;
  }

  /** The subscription's flags, or undefined when not subscribed. */
  flags(subscriber: S, topic: string): number | undefined {
    return this.byTopic.get(topic)?.get(subscriber);
  }

  setFlags(subscriber: S, topic: string, flags: number): void {
    const subscribers = this.byTopic.get(topic);
    if (subscribers?.has(subscriber)) subscribers.set(subscriber, flags);
  }

  /** The subscribers of `topic` and their flags (live: do not keep it across calls). */
  subscribers(topic: string): ReadonlyMap<S, number> | undefined {
    return this.byTopic.get(topic);
  }

  count(topic: string): number {
    return this.byTopic.get(topic)?.size ?? 0;
  }

  /** The topics of `subscriber`, in the order it subscribed. */
  topicsOf(subscriber: S): string[] {
    const topics = this.bySubscriber.get(subscriber);
    return topics === undefined ? [] : [...topics];
  }

  /** Every topic with at least one subscriber. */
  topics(): IterableIterator<string> {
    return this.byTopic.keys();
  }
}
