// Runs the same scenario in Chromium's native WebSocket/WebSocketStream and in tsws's
// (src/whatwg), against the same test server, and compares what each one logged.
//
// A scenario is a self-contained async function, `async (env) => { ... }`. Its source text
// (Function.prototype.toString of the compiled test) is evaluated in a Chromium page loaded from
// the test server (an ordinary http: origin) with the browser's classes, and in Node with
// `new Function` and tsws's classes: nothing from the test module's scope can leak into either.
// Both get the same helpers (`log`, `describe`, `attempt`, `watch`, `serverLog`...), defined
// once below in `prelude` and also evaluated from source in both places.
//
// Where the two logs differ for a reason that cannot be helped, the scenario says so by name
// with `knownDifference(name, why, normalize)`: the normalization is applied to both logs, and
// the difference must still be observed (a stale one fails the test).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it, type TestContext } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import {
  CloseEvent,
  WebSocketError,
  WebSocketStream,
  WebSocket as WhatwgWebSocket,
} from '../../src/whatwg/index.js';
import { startTestServer, type TestServer } from './browser-server.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Milliseconds before a scenario is cut short (a guard against hangs, not a timing claim):
 * generous, since a scenario may open a dozen connections on a machine shared with other runs.
 */
const SCENARIO_TIMEOUT = 30_000;

/** Launches Debian's Chromium, headless, or fails saying what is missing. Never downloads one. */
// A browser suite whose scenario never settles (a page or a loop waiting for ever) must end as a
// failure, not hold the whole run: past this, the file's process exits. Unref'd, it never keeps
// a finished process alive.
const WATCHDOG_MS = 15 * 60_000;
setTimeout(() => {
  console.error(`browser suite still running after ${WATCHDOG_MS / 60_000} minutes: ending it`);
  process.exit(1);
}, WATCHDOG_MS).unref();

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `Chromium is missing: ${CHROMIUM_PATH} does not exist. Install Debian's "chromium" package ` +
        '(.ci/run does); the browser comparison suites cannot run without it.',
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A normalized log entry: JSON values only. */
export type Entry = unknown;

/** Types of what a scenario is given (the browser's classes, or tsws's equivalents). */
export interface WebSocketStreamLike {
  readonly url: string;
  readonly opened: Promise<{
    readable: ReadableStream<string | ArrayBuffer>;
    writable: WritableStream<string | BufferSource>;
    extensions: string;
    protocol: string;
  }>;
  readonly closed: Promise<{ closeCode: number; reason: string }>;
  close(closeInfo?: { closeCode?: number; reason?: string }): void;
}
export interface WebSocketErrorLike extends DOMException {
  readonly closeCode: number | null;
  readonly reason: string;
}
export interface ScenarioEnv {
  WebSocket: typeof globalThis.WebSocket;
  WebSocketStream: new (
    url: string | URL,
    options?: { protocols?: string[]; signal?: AbortSignal },
  ) => WebSocketStreamLike;
  WebSocketError: new (
    message?: string,
    init?: { closeCode?: number; reason?: string },
  ) => WebSocketErrorLike;
  CloseEvent: typeof globalThis.CloseEvent;
  /** `ws://127.0.0.1:PORT`, the tsws test server. */
  url: string;
  /** `ws://127.0.0.1:RAWPORT`, the hand-written server. */
  rawUrl: string;
  /** `http://127.0.0.1:PORT`, the page's origin. */
  httpUrl: string;
  /** Arguments given to the scenario (JSON). */
  args: Record<string, unknown>;
  /** `${url}${path}` with a fresh `id` query parameter, for the server's log of that connection. */
  at(path: string, base?: string): string;
  log(...entries: Entry[]): void;
  sleep(ms: number): Promise<void>;
  /** A value as a log entry: strings, Blobs (size and text), buffers (length and first bytes), errors. */
  describe(value: unknown): Entry;
  /** Runs `fn`, logging `{[label]: 'ok'}` or `{[label]: {threw: name, ctor...}}`; returns what it returned. */
  attempt<T>(label: string, fn: () => T): T | undefined;
  /** Logs every open/message/error/close event of a WebSocket; resolves after `close`. */
  watch(
    ws: WebSocket,
    options?: { label?: string; onEvent?: (event: Event) => void; origin?: boolean },
  ): Promise<void>;
  /** What the server saw on the connection of a URL made by `at` (waits until it is over). */
  serverLog(urlWithId: string, ms?: number): Promise<Entry[]>;
  /** The request headers the server received for a URL made by `at`. */
  requestHeaders(urlWithId: string): Promise<Record<string, string> | null>;
  /** SHA-256 of bytes, in hex. */
  sha256(bytes: ArrayBuffer | ArrayBufferView | Blob): Promise<string>;
  /** Rejects/resolves with a description once `promise` settles: {resolved: …} or {rejected: …}. */
  settle(promise: Promise<unknown>): Promise<Entry>;
}
export type Scenario = (env: ScenarioEnv) => Promise<void>;

interface PreludeBase {
  url: string;
  rawUrl: string;
  httpUrl: string;
  prefix: string;
}
interface PreludeGlobals {
  Blob: typeof Blob;
  DOMException: typeof DOMException;
  crypto: Crypto;
  fetch: typeof fetch;
}

/**
 * The helpers given to every scenario. Evaluated from its source in both environments, so it
 * must not refer to anything outside itself.
 */
function prelude(base: PreludeBase, g: PreludeGlobals) {
  const entries: unknown[] = [];
  const pending: Promise<unknown>[] = [];
  let counter = 0;
  const SHORT = 200;
  const shortText = (text: string) =>
    text.length <= SHORT ? text : { length: text.length, head: text.slice(0, 32) };
  const bytesOf = (view: Uint8Array) => ({
    length: view.byteLength,
    head: Array.from(view.subarray(0, 16)),
  });
  const ctorName = (value: unknown) =>
    (value as { constructor?: { name?: string } } | null)?.constructor?.name ?? null;
  const describeError = (error: unknown) => {
    if (typeof error !== 'object' || error === null) return { threwValue: String(error) };
    const e = error as Error & { code?: unknown; closeCode?: unknown; reason?: unknown };
    const d: Record<string, unknown> = { threw: e.name, ctor: ctorName(e) };
    if (error instanceof g.DOMException) {
      d.domException = true;
      d.code = e.code;
    }
    if ('closeCode' in e) d.closeCode = e.closeCode;
    if ('reason' in e && typeof e.reason === 'string') d.reason = e.reason;
    return d;
  };
  const describe = (value: unknown): unknown => {
    if (typeof value === 'string') return { type: 'string', value: shortText(value) };
    if (value instanceof g.Blob) {
      const d: Record<string, unknown> = { type: 'Blob', size: value.size, blobType: value.type };
      pending.push(value.text().then((text) => (d.text = shortText(text))));
      return d;
    }
    if (value instanceof ArrayBuffer)
      return { type: 'ArrayBuffer', ...bytesOf(new Uint8Array(value)) };
    if (ArrayBuffer.isView(value)) {
      const view = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
      return { type: ctorName(value), ...bytesOf(view) };
    }
    if (value instanceof Error || value instanceof g.DOMException) return describeError(value);
    if (value === undefined) return { type: 'undefined' };
    if (value === null || typeof value !== 'object') return value;
    if (Array.isArray(value)) return value.map(describe);
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = describe(v);
    return out;
  };
  const log = (...items: unknown[]) => {
    for (const item of items) entries.push(item);
  };
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const at = (path: string, root = base.url) => {
    const id = `${base.prefix}-${++counter}`;
    return `${root}${path}${path.includes('?') ? '&' : '?'}id=${id}`;
  };
  const idOf = (url: string) => new URL(url).searchParams.get('id') ?? '';
  const attempt = <T>(label: string, fn: () => T): T | undefined => {
    try {
      const result = fn();
      entries.push({ [label]: 'ok' });
      return result;
    } catch (error) {
      entries.push({ [label]: describeError(error) });
      return undefined;
    }
  };
  const describeEvent = (event: Event, target: WebSocket, origin: boolean) => {
    const d: Record<string, unknown> = {
      event: event.type,
      readyState: target.readyState,
      ctor: ctorName(event),
    };
    if (event.type === 'message') {
      const m = event as MessageEvent;
      d.data = describe(m.data);
      if (origin) d.origin = m.origin;
    }
    if (event.type === 'close') {
      const c = event as CloseEvent;
      d.code = c.code;
      d.reason = shortText(c.reason);
      d.wasClean = c.wasClean;
    }
    return d;
  };
  const watch = (
    ws: WebSocket,
    options: { label?: string; onEvent?: (event: Event) => void; origin?: boolean } = {},
  ) =>
    new Promise<void>((resolve) => {
      for (const type of ['open', 'message', 'error', 'close']) {
        ws.addEventListener(type, (event) => {
          const d = describeEvent(event, ws, options.origin ?? false);
          entries.push(options.label === undefined ? d : { [options.label]: d });
          options.onEvent?.(event);
          if (type === 'close') resolve();
        });
      }
    });
  const serverLog = async (url: string, ms = 5000) => {
    const res = await g.fetch(`${base.httpUrl}/log?id=${encodeURIComponent(idOf(url))}&ms=${ms}`);
    return (await res.json()) as unknown[];
  };
  const requestHeaders = async (url: string) => {
    const res = await g.fetch(`${base.httpUrl}/headers?id=${encodeURIComponent(idOf(url))}`);
    return (await res.json()) as Record<string, string> | null;
  };
  const sha256 = async (bytes: ArrayBuffer | ArrayBufferView | Blob) => {
    const data = bytes instanceof g.Blob ? await bytes.arrayBuffer() : bytes;
    const digest = new Uint8Array(await g.crypto.subtle.digest('SHA-256', data as BufferSource));
    return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
  };
  const settle = (promise: Promise<unknown>) =>
    promise.then(
      (value) => ({ resolved: describe(value) }),
      (error) => ({ rejected: describe(error) }),
    );
  const finish = async () => {
    await Promise.all(pending);
    return JSON.parse(JSON.stringify(entries)) as unknown[];
  };
  return {
    url: base.url,
    rawUrl: base.rawUrl,
    httpUrl: base.httpUrl,
    at,
    log,
    sleep,
    describe,
    attempt,
    watch,
    serverLog,
    requestHeaders,
    sha256,
    settle,
    describeError,
    finish,
  };
}

/** Chromium and tsws differ here, for a reason that can't be helped: named, explained, normalized. */
export interface KnownDifference {
  name: string;
  why: string;
  normalize: (log: Entry[]) => Entry[];
}

export function knownDifference(
  name: string,
  why: string,
  normalize: (log: Entry[]) => Entry[],
): KnownDifference {
  return { name, why, normalize };
}

export interface ScenarioOptions {
  args?: Record<string, unknown>;
  differences?: KnownDifference[];
  /** Milliseconds before the scenario is cut short (its log then ends with `timedOut`); 30 s by default. */
  timeout?: number;
  /** Run alone, after the concurrent ones (timing-sensitive: buffers, big messages). */
  serial?: boolean;
}

export interface Harness {
  browser: Browser;
  server: TestServer;
}

interface Defined {
  name: string;
  fn: Scenario;
  options: ScenarioOptions;
}

export type DefineScenario = (name: string, fn: Scenario, options?: ScenarioOptions) => void;

let runs = 0;

/** Runs `source` in a fresh page of `browser` loaded from the test server; returns its log. */
export async function runInChromium(
  harness: Harness,
  fn: Scenario,
  options: ScenarioOptions = {},
): Promise<Entry[]> {
  const { server, browser } = harness;
  const page = await browser.newPage();
  try {
    await page.goto(`${server.httpUrl}/`);
    const base: PreludeBase = {
      url: server.wsUrl,
      rawUrl: server.rawUrl,
      httpUrl: server.httpUrl,
      prefix: `chromium${++runs}`,
    };
    const expression = `(async () => {
      const tools = (${prelude.toString()})(${JSON.stringify(base)}, {
        Blob, DOMException, crypto, fetch: fetch.bind(globalThis),
      });
      const env = { ...tools, WebSocket, WebSocketStream, WebSocketError, CloseEvent,
        args: ${JSON.stringify(options.args ?? {})} };
      await (${runBody.toString()})(tools, (${fn.toString()}), env, ${options.timeout ?? SCENARIO_TIMEOUT});
      return await tools.finish();
    })()`;
    return (await page.evaluate(expression)) as Entry[];
  } finally {
    await page.close();
  }
}

/** Runs the scenario's source in Node with tsws's classes; returns its log. */
export async function runInNode(
  harness: Harness,
  fn: Scenario,
  options: ScenarioOptions = {},
): Promise<Entry[]> {
  const { server } = harness;
  const base: PreludeBase = {
    url: server.wsUrl,
    rawUrl: server.rawUrl,
    httpUrl: server.httpUrl,
    prefix: `node${++runs}`,
  };
  const evaluate = (source: string) => new Function(`return (${source});`)();
  const tools = evaluate(prelude.toString())(base, {
    Blob,
    DOMException,
    crypto: globalThis.crypto,
    fetch: globalThis.fetch,
  }) as ReturnType<typeof prelude>;
  const env = {
    ...tools,
    WebSocket: WhatwgWebSocket,
    WebSocketStream,
    WebSocketError,
    CloseEvent,
    args: options.args ?? {},
  };
  await evaluate(runBody.toString())(
    tools,
    evaluate(fn.toString()),
    env,
    options.timeout ?? SCENARIO_TIMEOUT,
  );
  return tools.finish();
}

/** Runs the scenario with a time limit; a throw or a timeout ends the log with an entry. */
async function runBody(
  tools: { log(entry: unknown): void; describeError(error: unknown): unknown },
  fn: (env: unknown) => Promise<void>,
  env: unknown,
  timeout: number,
) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeout);
  });
  try {
    const result = await Promise.race([fn(env), timedOut]);
    if (result === 'timeout') tools.log({ timedOut: timeout });
  } catch (error) {
    tools.log({ scenarioThrew: tools.describeError(error) });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Applies the known differences to both logs and asserts they are equal. Each difference must
 * still be needed: if the logs agree once all the others are applied, it is a stale claim.
 */
export function compareLogs(
  t: TestContext,
  chromiumLog: Entry[],
  nodeLog: Entry[],
  differences: KnownDifference[] = [],
): void {
  const normalize = (log: Entry[], list: KnownDifference[]) =>
    list.reduce((current, difference) => difference.normalize(structuredClone(current)), log);
  for (const difference of differences) {
    const others = differences.filter((d) => d !== difference);
    assert.ok(
      !isDeepStrictEqual(normalize(chromiumLog, others), normalize(nodeLog, others)),
      `known difference "${difference.name}" is no longer observed: remove it from the test`,
    );
    t.diagnostic(`known difference "${difference.name}": ${difference.why}`);
  }
  assert.deepStrictEqual(
    normalize(nodeLog, differences),
    normalize(chromiumLog, differences),
    `tsws (actual) and Chromium (expected) logged differently\nChromium: ${JSON.stringify(chromiumLog)}\ntsws:     ${JSON.stringify(nodeLog)}`,
  );
}

function isDeepStrictEqual(a: unknown, b: unknown): boolean {
  try {
    assert.deepStrictEqual(a, b);
    return true;
  } catch {
    return false;
  }
}

/**
 * One comparison suite per test file: a Chromium and a test server for the file (started in
 * `before`, stopped in `after`), then the scenarios `define` declares, run concurrently each in
 * its own page (those marked `serial` one at a time, afterwards).
 */
export function browserSuite(
  title: string,
  define: (scenario: DefineScenario) => void,
  concurrency = 6,
): () => Harness {
  let harness: Harness | undefined;
  before(async () => {
    const browser = await launchChromium();
    try {
      harness = { browser, server: await startTestServer() };
    } catch (error) {
      await browser.close();
      throw error;
    }
  });
  after(async () => {
    if (harness === undefined) return;
    await harness.browser.close();
    await harness.server.close();
  });
  const get = () => {
    if (harness === undefined) throw new Error('the browser harness did not start');
    return harness;
  };
  const scenarios: Defined[] = [];
  define((name, fn, options = {}) => scenarios.push({ name, fn, options }));
  const register = (s: Defined) =>
    it(s.name, async (t) => {
      const h = get();
      const [chromiumLog, nodeLog] = await Promise.all([
        runInChromium(h, s.fn, s.options).catch((error: Error) => {
          // A crash of Chromium's renderer is Chromium's failure, not a difference: once more.
          if (!/Target crashed/.test(error.message)) throw error;
          t.diagnostic(`Chromium's renderer crashed (${error.message.trim()}); running it again`);
          return runInChromium(h, s.fn, s.options);
        }),
        runInNode(h, s.fn, s.options),
      ]);
      // TSWS_BROWSER_LOGS=1 shows what both sides logged, for writing and reviewing scenarios.
      if (process.env.TSWS_BROWSER_LOGS) {
        t.diagnostic(`Chromium: ${JSON.stringify(chromiumLog)}`);
        t.diagnostic(`tsws:     ${JSON.stringify(nodeLog)}`);
      }
      compareLogs(t, chromiumLog, nodeLog, s.options.differences);
    });
  describe(title, { concurrency }, () => {
    for (const s of scenarios.filter((s) => !s.options.serial)) register(s);
  });
  describe(`${title} (one at a time)`, () => {
    for (const s of scenarios.filter((s) => s.options.serial)) register(s);
  });
  return get;
}

/** Replaces, in every entry (deeply), the values of `key` for which `match` holds. */
export function replaceDeep(
  log: Entry[],
  match: (key: string, value: unknown) => boolean,
  replacement: (value: unknown) => unknown,
): Entry[] {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = match(k, v) ? replacement(v) : walk(v);
    return out;
  };
  return log.map(walk);
}
