/** A published message as adapters carry it. */
export interface PubSubMessage {
  readonly topic: string;
  readonly data: Buffer;
  /** Sent as a binary message (else text: `data` is UTF-8). */
  readonly binary: boolean;
  /** May be compressed for subscribers that agreed on permessage-deflate. */
  readonly compress: boolean;
}

/** A message handed to this process for its subscribers, with its place in the topic. */
export interface Delivery extends PubSubMessage {
  /** Its sequence id in the topic (see seq.ts): greater than every earlier one. */
  readonly seq: string;
  /** The sequence id of the message before it in the topic (`0-0` for the first). */
  readonly prev: string;
  /**
   * What `publish` was given as `except`, when the publish was made on this process (the
   * adapter hands it back untouched); undefined otherwise.
   */
  readonly except: unknown;
}

/** Messages after a sequence id, from a topic's retained history. */
export interface History {
  /** Oldest first. */
  readonly messages: Delivery[];
  /** False when some messages after `since` are no longer retained (the window was passed). */
  readonly complete: boolean;
}

/** Something published could not be delivered, or could not be confirmed. */
export type UndeliveredReport =
  | {
      /** A publish made on this process failed, or its outcome is unknown (see the adapter). */
      readonly reason: 'publish-failed';
      readonly topic: string;
      readonly message: PubSubMessage;
      readonly error: Error;
    }
  | {
      /**
       * Messages of `topic` after `after` (and before `before`, when known) were published but
       * this process could not get them any more: they were past the retained window, or the
       * broker lost them (a restart without persistence).
       */
      readonly reason: 'gap';
      readonly topic: string;
      readonly after: string;
      readonly before: string | undefined;
    };

/** Where an adapter hands what it receives: the server's local delivery. */
export interface AdapterSink {
  /** In order per topic, each message once. */
  deliver(delivery: Delivery): void;
  undelivered(report: UndeliveredReport): void;
}

/**
 * Carries publishes between the processes that serve the same topics. The in-process broker
 * (LocalAdapter) is the default; the Redis adapter (`tsws/redis`) reaches every process
 * connected to the same Redis. One adapter serves one server.
 *
 * Contract: every message published (here or elsewhere) on a topic this process subscribes to
 * reaches `sink.deliver` once, in the topic's order (by `seq`), or is reported to
 * `sink.undelivered`.
 */
export interface PubSubAdapter {
  /** Called once, by the server that uses the adapter. */
  start(sink: AdapterSink): void;
  /** This process has its first subscriber to `topic`. */
  subscribe(topic: string): void;
  /** This process has no subscriber to `topic` any more. */
  unsubscribe(topic: string): void;
  /**
   * Publishes to every process. `except` is handed back with the delivery on this process.
   * Returns false when the message could not be sent at all (it is then also reported).
   */
  publish(message: PubSubMessage, except: unknown): boolean;
  /** The retained messages of `topic` after `since`. */
  history(topic: string, since: string): Promise<History>;
  /** Stops: no more deliveries. */
  close(): Promise<void>;
}
