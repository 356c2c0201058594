// The WHATWG WebSocket: each scenario runs in Chromium's native class and in tsws's
// (src/whatwg/websocket.ts) against the same test server; the two logs must be equal.
import {
  browserHeaders,
  clampRounds,
  closeEventReason,
  explicitUndefinedCode,
  invalidUtf8CloseCode,
  isTrusted,
  origin,
  relativeUrl,
  userAgent,
} from '../helpers/browser-differences.js';
import { browserSuite, type ScenarioEnv } from '../helpers/browser-harness.js';

browserSuite('WebSocket: Chromium and tsws log the same', (scenario) => {
  // ---- the interface ----

  scenario('interface: constants, lengths, accessors', async ({ WebSocket, at, log }) => {
    for (const name of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']) {
      log({
        name,
        onClass: Object.getOwnPropertyDescriptor(WebSocket, name),
        onProto: Object.getOwnPropertyDescriptor(WebSocket.prototype, name),
      });
    }
    log({ name: WebSocket.name, length: WebSocket.length });
    for (const name of [
      'url',
      'readyState',
      'bufferedAmount',
      'onopen',
      'onerror',
      'onclose',
      'extensions',
      'protocol',
      'onmessage',
      'binaryType',
      'close',
      'send',
    ]) {
      const d = Object.getOwnPropertyDescriptor(WebSocket.prototype, name);
      log({
        name,
        kind: d === undefined ? 'missing' : 'value' in d ? typeof d.value : 'accessor',
        setter: d?.set !== undefined,
        enumerable: d?.enumerable,
        length: typeof d?.value === 'function' ? (d.value as () => void).length : null,
      });
    }
    const tag = Object.getOwnPropertyDescriptor(WebSocket.prototype, Symbol.toStringTag);
    log({ tag: tag?.value ?? null, tagWritable: tag?.writable ?? null });
    const ws = new WebSocket(at('/echo'));
    log({
      instance: {
        toString: Object.prototype.toString.call(ws),
        CONNECTING: ws.CONNECTING,
        CLOSED: ws.CLOSED,
        ownConstant: Object.hasOwn(ws, 'OPEN'),
        eventTarget: ws instanceof EventTarget,
        onopen: ws.onopen,
        onmessage: ws.onmessage,
        binaryType: ws.binaryType,
        bufferedAmount: ws.bufferedAmount,
      },
    });
    ws.close();
  });

  scenario('constructor: URL and protocol errors', async ({ WebSocket, url, attempt, log }) => {
    const W = WebSocket as unknown as new (...args: unknown[]) => WebSocket;
    const make = (label: string, ...args: unknown[]) => {
      const ws = attempt(label, () => new W(...args));
      if (ws !== undefined) {
        log({ [`${label} url`]: ws.url });
        ws.close();
      }
    };
    make('no arguments');
    make('not a URL at all', 'http://[');
    make('ftp', 'ftp://127.0.0.1/');
    make('javascript', 'javascript:void 0');
    make('file', 'file:///etc/passwd');
    make('fragment', `${url}/echo#frag`);
    make('empty fragment', `${url}/echo#`);
    make('http becomes ws', `${url.replace('ws:', 'http:')}/echo?x=1`);
    make('https becomes wss', 'https://127.0.0.1:1/');
    make('upper-case scheme, dot segments, non-ASCII query', `${url.toUpperCase()}/a/../echo?q=ü`);
    make('default port', 'ws://127.0.0.1:80/');
    make('default secure port', 'wss://127.0.0.1:443/');
    make('IPv6', 'ws://[::1]:1/');
    make('a URL object', new URL(`${url}/echo`));
    make('lone surrogate', `${url}/echo?\uD800`);
    make('duplicate protocols', `${url}/echo`, ['a', 'a']);
    make('protocols differing in case', `${url}/echo`, ['a', 'A']);
    make('protocol with a space', `${url}/echo`, 'a b');
    make('protocol with a comma', `${url}/echo`, ['a,b']);
    make('empty protocol', `${url}/echo`, '');
    make('empty protocol in a list', `${url}/echo`, ['']);
    make('non-ASCII protocol', `${url}/echo`, ['é']);
    make('separator protocol', `${url}/echo`, ['a/b']);
    make('token protocol', `${url}/echo`, ["!#$%&'*+-.^_`|~09azAZ"]);
    make('empty list', `${url}/echo`, []);
    make('null protocol', `${url}/echo`, null);
    make('undefined protocols', `${url}/echo`, undefined);
    make('a Set of protocols', `${url}/echo`, new Set(['a', 'b']));
    make('a number protocol', `${url}/echo`, 7);
  });

  scenario(
    'constructor: a relative URL',
    async ({ WebSocket, attempt }) => {
      for (const relative of ['/echo', 'echo', '', 'not a url']) {
        attempt(`relative "${relative}"`, () => new WebSocket(relative).close());
      }
    },
    {
      differences: [relativeUrl],
    },
  );

  scenario(
    'constructor: objects in place of protocols, and a third argument',
    async ({ WebSocket, url, attempt, log }) => {
      const W = WebSocket as unknown as new (...args: unknown[]) => WebSocket;
      attempt('plain object', () => new W(`${url}/echo`, {}).close());
      attempt('options-like object', () => new W(`${url}/echo`, { headers: {} }).close());
      attempt('an object with a token toString', () =>
        new W(`${url}/echo`, { toString: () => 'chat' }).close(),
      );
      // tsws takes Node-only options there; a browser ignores a third argument.
      const ws = attempt('a third argument', () => new W(`${url}/echo`, [], { headers: {} }));
      log({ protocol: ws?.protocol ?? null });
      ws?.close();
    },
  );

  // ---- opening, messages, closing ----

  scenario('open, echo, close(1000, reason)', async ({ WebSocket, at, log, watch, serverLog }) => {
    const url = at('/echo');
    const ws = new WebSocket(url);
    log({ readyState: ws.readyState, protocol: ws.protocol, extensions: ws.extensions });
    await watch(ws, {
      origin: true,
      onEvent(event) {
        if (event.type === 'open') {
          log({ url: ws.url === url, protocol: ws.protocol, extensions: ws.extensions });
          ws.send('hello');
        }
        if (event.type === 'message') {
          ws.close(1000, 'done');
          log({ afterClose: ws.readyState });
        }
      },
    });
    log({ server: await serverLog(url) });
  });

  scenario('close codes 3000 and 4999, a non-ASCII reason', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    for (const [code, reason] of [
      [3000, ''],
      [4999, 'x'],
      [1000, 'héllo wörld ✓ 😀 — ünïcödé'],
    ] as const) {
      const url = at('/echo');
      const ws = new WebSocket(url);
      ws.onopen = () => ws.close(code, reason);
      await watch(ws);
      log({ server: await serverLog(url) });
    }
  });

  // Each case on its own connection: what close(...) did, the close event, what the server got.
  const closeCases = async (env: ScenarioEnv) => {
    const { WebSocket, at, log, serverLog, describe } = env;
    for (const [label, args] of env.args.cases as [string, unknown[]][]) {
      const url = at('/echo');
      const ws = new WebSocket(url);
      await new Promise((resolve) => ws.addEventListener('open', resolve));
      let result: unknown = 'ok';
      try {
        (ws.close as (...a: unknown[]) => void)(...args);
      } catch (error) {
        result = describe(error);
        ws.close();
      }
      const event = await new Promise<CloseEvent>((resolve) => {
        ws.onclose = resolve;
      });
      const server = (await serverLog(url)).filter(
        (e) => (e as { event: string }).event === 'close',
      );
      log({
        case: label,
        result,
        close: { code: event.code, reason: event.reason, wasClean: event.wasClean },
        server,
      });
    }
  };
  const ARGS_ONLY = [
    ['close()', []],
    ['close(1000, "")', [1000, '']],
    ['close("1000")', ['1000']],
    ['close(1000.4)', [1000.4]],
    ['close(3000.5)', [3000.5]],
    ['close(4000, 123 bytes)', [4000, 'x'.repeat(123)]],
    ['close(4001, 41 lone surrogates: 123 bytes)', [4001, '\uD800'.repeat(41)]],
    ['close(4002, 42)', [4002, 42]],
  ] as [string, unknown[]][];
  scenario('close(): without arguments, and odd values that are valid', closeCases, {
    args: { cases: ARGS_ONLY },
  });

  const UNDEFINED_CODE = [
    ['close(undefined)', [undefined]],
    ['close(undefined, undefined)', [undefined, undefined]],
    ['close(undefined, "why")', [undefined, 'why']],
    ['close(undefined, 124 bytes)', [undefined, 'x'.repeat(124)]],
  ] as [string, unknown[]][];
  scenario('close(): an explicit undefined code', closeCases, {
    args: { cases: UNDEFINED_CODE },
    differences: [explicitUndefinedCode(UNDEFINED_CODE.map(([label]) => label))],
  });

  const FRACTIONS = [
    ['close(1000.6)', [1000.6]],
    ['close(2999.5)', [2999.5]],
    ['close(4999.5)', [4999.5]],
    ['close(4998.5)', [4998.5]],
  ] as [string, unknown[]][];
  scenario('close(): fractional codes, [Clamp]', closeCases, {
    args: { cases: FRACTIONS },
    differences: [clampRounds(['close(1000.6)', 'close(2999.5)', 'close(4999.5)'])],
  });

  scenario('close(): invalid codes and reasons, code checked first', async (env) => {
    const { WebSocket, at, log, watch, attempt } = env;
    const url = at('/echo');
    const ws = new WebSocket(url);
    const close = ws.close.bind(ws) as (...a: unknown[]) => void;
    await new Promise((resolve) => ws.addEventListener('open', resolve));
    for (const code of [999, 1001, 1005, 1006, 1015, 2999, 5000, 0, -1, 65535, 65536, 70000]) {
      attempt(`code ${code}`, () => close(code));
    }
    attempt('code NaN', () => close(Number.NaN));
    attempt('code Infinity', () => close(Number.POSITIVE_INFINITY));
    attempt('code 999.4', () => close(999.4));
    attempt('code null', () => close(null));
    attempt('code "abc"', () => close('abc'));
    attempt('code {}', () => close({}));
    attempt('reason of 124 bytes', () => close(1000, 'x'.repeat(124)));
    attempt('reason of 62 × é (124 bytes)', () => close(1000, 'é'.repeat(62)));
    attempt('reason of 42 lone surrogates (126 bytes)', () => close(1000, '\uD800'.repeat(42)));
    attempt('bad code and bad reason', () => close(999, 'x'.repeat(124)));
    log({ readyState: ws.readyState });
    ws.close(1000);
    await watch(ws);
    attempt('after close: code 999', () => close(999));
    attempt('after close: reason too long', () => close(1000, 'x'.repeat(200)));
    attempt('after close: valid', () => close(4000, 'again'));
  });

  scenario('send(): in every state', async ({ WebSocket, at, log, watch, attempt }) => {
    const ws = new WebSocket(at('/echo'));
    const send = ws.send.bind(ws) as (...a: unknown[]) => void;
    attempt('send while CONNECTING', () => send('x'));
    attempt('send() without an argument while CONNECTING', () => send());
    log({ connecting: ws.bufferedAmount });
    await new Promise((resolve) => ws.addEventListener('open', resolve));
    attempt('send() without an argument while OPEN', () => send());
    ws.close();
    log({ readyState: ws.readyState });
    attempt('send text while CLOSING', () => send('abc'));
    log({ bufferedAmount: ws.bufferedAmount });
    attempt('send bytes while CLOSING', () => send(new Uint8Array(10)));
    log({ bufferedAmount: ws.bufferedAmount });
    attempt('send a Blob while CLOSING', () => send(new Blob(['12345'])));
    log({ bufferedAmount: ws.bufferedAmount });
    attempt('send non-ASCII text while CLOSING', () => send('é'));
    log({ bufferedAmount: ws.bufferedAmount });
    await watch(ws);
    attempt('send while CLOSED', () => send('xyz'));
    attempt('send an ArrayBuffer while CLOSED', () => send(new ArrayBuffer(7)));
    log({ readyState: ws.readyState, bufferedAmount: ws.bufferedAmount });
  });

  scenario('binaryType: values and invalid ones', async ({ WebSocket, at, log, watch }) => {
    const ws = new WebSocket(at('/echo'));
    const set = (value: unknown) => {
      (ws as unknown as { binaryType: unknown }).binaryType = value;
      log({ set: String(value), binaryType: ws.binaryType });
    };
    log({ initial: ws.binaryType });
    set('arraybuffer');
    set('invalid');
    set('Blob');
    set('');
    set(null);
    set('blob');
    set('arraybuffer');
    set({ toString: () => 'blob' });
    ws.close();
    await watch(ws);
  });

  for (const binaryType of ['blob', 'arraybuffer'] as const) {
    scenario(
      `receive text, binary and empty messages (binaryType ${binaryType})`,
      async ({ WebSocket, at, watch, args }) => {
        const ws = new WebSocket(at('/kinds'));
        ws.binaryType = args.binaryType as BinaryType;
        let n = 0;
        await watch(ws, {
          onEvent(event) {
            if (event.type === 'message' && ++n === 5) ws.close();
          },
        });
      },
      { args: { binaryType } },
    );
  }

  scenario('binaryType changed inside a message handler', async ({ WebSocket, at, watch }) => {
    const ws = new WebSocket(at('/kinds'));
    let n = 0;
    await watch(ws, {
      onEvent(event) {
        if (event.type !== 'message') return;
        n++;
        // Message 3 is binary; message 4 (empty binary) was received with it, in one read.
        if (n === 3) ws.binaryType = 'arraybuffer';
        if (n === 5) ws.close();
      },
    });
  });

  scenario('send(): every kind of data, echoed', async ({ WebSocket, at, log, watch }) => {
    const ws = new WebSocket(at('/echo'));
    ws.binaryType = 'arraybuffer';
    const buffer = new ArrayBuffer(8);
    new Uint8Array(buffer).set([10, 11, 12, 13, 14, 15, 16, 17]);
    const data: [string, unknown][] = [
      ['a Blob', new Blob(['blob ', new Uint8Array([98, 121, 116, 101, 115])])],
      ['text', 'text'],
      ['empty text', ''],
      ['non-ASCII text', 'héllo ✓ 😀'],
      ['lone surrogate', 'a\uD800b'],
      ['an ArrayBuffer', buffer],
      ['an empty ArrayBuffer', new ArrayBuffer(0)],
      ['a Uint8Array', new Uint8Array([1, 2, 3])],
      ['an Int16Array', new Int16Array([1, -1])],
      ['a Float64Array', new Float64Array([1.5])],
      ['a DataView', new DataView(buffer, 1, 4)],
      ['a view with an offset', new Uint8Array(buffer, 2, 3)],
      ['a subarray', new Uint16Array(buffer).subarray(1, 3)],
      ['an empty Blob', new Blob([])],
      ['a typed Blob', new Blob(['typed'], { type: 'text/plain' })],
      ['a number', 123],
      ['null', null],
      ['an object', { toString: () => 'object' }],
    ];
    let received = 0;
    const closed = watch(ws, {
      onEvent(event) {
        if (event.type === 'open') {
          for (const [label, value] of data) {
            (ws.send as (d: unknown) => void)(value);
            log({ sent: label, bufferedAmount: ws.bufferedAmount });
          }
        }
        if (event.type === 'message' && ++received === data.length) ws.close();
      },
    });
    await closed;
  });

  // ---- failures ----

  scenario('a server that refuses the upgrade (403)', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/refuse');
    const ws = new WebSocket(url);
    await watch(ws);
    log({ bufferedAmount: ws.bufferedAmount, protocol: ws.protocol });
    log({ server: await serverLog(url) });
  });

  scenario('a server that drops TCP right after open', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/terminate?after=0');
    const ws = new WebSocket(url);
    await watch(ws);
    log({ server: await serverLog(url) });
  });

  scenario('a server that drops TCP after the first message', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/terminate?after=1');
    const ws = new WebSocket(url);
    await watch(ws, {
      onEvent(event) {
        if (event.type === 'open') ws.send('one');
      },
    });
    log({ server: await serverLog(url) });
  });

  scenario('a server that sends a message then FIN, without a close frame', async (env) => {
    const { WebSocket, at, rawUrl, log, watch, serverLog } = env;
    const url = at('/fin', rawUrl);
    const ws = new WebSocket(url);
    await watch(ws);
    log({ server: await serverLog(url) });
  });

  for (const mode of ['bad-frame', 'bad-utf8', 'masked', 'rsv1', 'close-1005']) {
    scenario(
      `a server that breaks the protocol: ${mode}`,
      async (env) => {
        const { WebSocket, at, rawUrl, log, watch, serverLog, args } = env;
        const url = at(`/${args.mode}`, rawUrl);
        const ws = new WebSocket(url);
        await watch(ws);
        log({ server: await serverLog(url) });
      },
      {
        args: { mode },
        differences: mode === 'bad-utf8' ? [invalidUtf8CloseCode] : [],
      },
    );
  }

  for (const mode of ['bad-accept', 'unoffered-protocol']) {
    scenario(
      `a server that answers the handshake wrongly: ${mode}`,
      async (env) => {
        const { WebSocket, at, rawUrl, log, watch, args } = env;
        const ws = new WebSocket(at(`/${args.mode}`, rawUrl));
        await watch(ws);
        log({ protocol: ws.protocol });
      },
      { args: { mode } },
    );
  }

  // ---- server-initiated closes ----

  scenario('the server closes with a code and reason after an echo', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at(`/close?code=4001&reason=${encodeURIComponent('bye ✓')}`);
    const ws = new WebSocket(url);
    await watch(ws, {
      onEvent(event) {
        if (event.type === 'open') ws.send('ping');
      },
    });
    log({ server: await serverLog(url) });
  });

  scenario('the server closes without a code', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/close?after=0');
    const ws = new WebSocket(url);
    await watch(ws);
    log({ server: await serverLog(url) });
  });

  scenario('the server closes with 1011 at once', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/close?after=0&code=1011&reason=oops');
    const ws = new WebSocket(url);
    await watch(ws);
    log({ server: await serverLog(url) });
  });

  // ---- subprotocols and request headers ----

  scenario('subprotocol negotiation', async ({ WebSocket, at, log, watch, serverLog }) => {
    const cases: [string, string | string[]][] = [
      ['/protocol?choose=b', ['a', 'b']],
      ['/protocol', 'chat'],
      ['/protocol?choose=a', ['a']],
    ];
    for (const [path, protocols] of cases) {
      const url = at(path);
      const ws = new WebSocket(url, protocols);
      log({ before: ws.protocol });
      await watch(ws, {
        onEvent(event) {
          if (event.type === 'open') {
            log({ protocol: ws.protocol });
            ws.close();
          }
        },
      });
      log({ after: ws.protocol, server: await serverLog(url) });
    }
  });

  scenario('a server that picks no subprotocol when some were offered', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/protocol?choose=none');
    const ws = new WebSocket(url, ['a', 'b']);
    await watch(ws);
    log({ protocol: ws.protocol, server: await serverLog(url) });
  });

  scenario(
    'request headers',
    async ({ WebSocket, at, log, watch, requestHeaders }) => {
      const url = at('/echo');
      const ws = new WebSocket(url, ['p1', 'p2']);
      ws.onopen = () => ws.close();
      await watch(ws);
      const h = (await requestHeaders(url))!;
      log({
        upgrade: h.upgrade,
        connection: h.connection,
        version: h['sec-websocket-version'],
        keyLength: h['sec-websocket-key']?.length,
        protocol: h['sec-websocket-protocol'],
        host: h.host,
        origin: h.origin ?? null,
        userAgent: h['user-agent'] === undefined ? null : 'present',
        extensions: h['sec-websocket-extensions'] ?? null,
        cacheControl: h['cache-control'] ?? null,
        pragma: h.pragma ?? null,
        acceptEncoding: h['accept-encoding'] ?? null,
        acceptLanguage: h['accept-language'] === undefined ? null : 'present',
      });
    },
    {
      differences: [origin, userAgent, browserHeaders],
    },
  );

  // ---- events ----

  scenario('microtasks run between message events', async ({ WebSocket, at, log, watch }) => {
    const ws = new WebSocket(at('/burst?count=3&code=4000&reason=end'));
    await watch(ws, {
      onEvent(event) {
        const label = event.type === 'message' ? (event as MessageEvent).data : event.type;
        Promise.resolve().then(() => log({ microtask: label }));
        queueMicrotask(() => log({ queueMicrotask: label }));
      },
    });
    await Promise.resolve();
  });

  scenario('close() inside a message handler, with more messages received', async (env) => {
    const { WebSocket, at, log, watch, serverLog } = env;
    const url = at('/burst?count=3');
    const ws = new WebSocket(url);
    await watch(ws, {
      onEvent(event) {
        if (event.type === 'message') {
          ws.close(4000);
          log({ readyState: ws.readyState });
        }
      },
    });
    log({ server: await serverLog(url) });
  });

  scenario('event handler attributes and listeners, in order', async (env) => {
    const { WebSocket, at, log } = env;
    const ws = new WebSocket(at('/burst?count=4&code=1000'));
    const seen = (who: string) => (event: Event) =>
      log({ who, type: event.type, data: (event as MessageEvent).data ?? null });
    ws.addEventListener('message', seen('listener A'));
    ws.onmessage = seen('onmessage 1');
    ws.addEventListener('message', seen('listener B'));
    let n = 0;
    ws.addEventListener('message', () => {
      n++;
      // After message 1, replacing the handler keeps its place; after 2, null then a new one
      // moves it to the end; after 3, a non-callable object is kept but not called.
      if (n === 1) ws.onmessage = seen('onmessage 2');
      if (n === 2) {
        ws.onmessage = null;
        ws.onmessage = seen('onmessage 3');
      }
      if (n === 3) ws.onmessage = { handleEvent: seen('handleEvent object') } as never;
    });
    ws.onopen = function (this: unknown, event: Event) {
      log({
        onopenThis: this === ws,
        target: event.target === ws,
        currentTarget: event.currentTarget === ws,
      });
    };
    (ws as unknown as { onclose: unknown }).onclose = 'not a function';
    log({ oncloseFromString: ws.onclose });
    (ws as unknown as { onerror: unknown }).onerror = {};
    log({ onerrorFromObject: typeof ws.onerror });
    await new Promise((resolve) => ws.addEventListener('close', resolve));
    log({ typeOfOnmessage: typeof ws.onmessage });
  });

  scenario('close() while CONNECTING', async ({ WebSocket, at, log, watch, attempt }) => {
    const ws = new WebSocket(at('/echo'));
    const closed = watch(ws);
    ws.close(4000, 'never mind');
    log({ readyState: ws.readyState });
    attempt('send after close while connecting', () => ws.send('abc'));
    log({ bufferedAmount: ws.bufferedAmount });
    attempt('close again', () => ws.close());
    await closed;
    log({ readyState: ws.readyState, bufferedAmount: ws.bufferedAmount });
  });

  scenario(
    'event objects',
    async ({ WebSocket, at, log }) => {
      const ws = new WebSocket(at('/close?code=4002&reason=r'));
      const describeEvent = (event: Event) => {
        const d: Record<string, unknown> = {
          type: event.type,
          isTrusted: event.isTrusted,
          bubbles: event.bubbles,
          cancelable: event.cancelable,
          composed: event.composed,
          eventPhase: event.eventPhase,
          defaultPrevented: event.defaultPrevented,
          instanceOfEvent: event instanceof Event,
          ctor: event.constructor.name,
        };
        if (event instanceof MessageEvent) {
          d.lastEventId = event.lastEventId;
          d.source = event.source;
          d.ports = event.ports.length;
          d.origin = event.origin.replace(/:\d+$/, ':PORT');
        }
        log(d);
      };
      for (const type of ['open', 'message', 'error', 'close'])
        ws.addEventListener(type, describeEvent);
      ws.onopen = () => ws.send('x');
      await new Promise((resolve) => ws.addEventListener('close', resolve));
    },
    {
      differences: [isTrusted],
    },
  );

  scenario(
    'the CloseEvent constructor',
    async ({ CloseEvent, log, attempt }) => {
      const show = (e: CloseEvent) => ({
        type: e.type,
        code: e.code,
        reason: e.reason,
        wasClean: e.wasClean,
        bubbles: e.bubbles,
        isEvent: e instanceof Event,
        tag: Object.prototype.toString.call(e),
      });
      log(show(new CloseEvent('close')));
      log(
        show(new CloseEvent('close', { code: 4000, reason: 'r', wasClean: true, bubbles: true })),
      );
      log(show(new CloseEvent('x', { code: 70000, reason: 'a\uD800' })));
      log(show(new CloseEvent('x', { code: -1 })));
      log(show(new CloseEvent('x', { code: 1.9 })));
      attempt('no type', () => new (CloseEvent as unknown as new () => CloseEvent)());
    },
    {
      differences: [closeEventReason],
    },
  );

  // ---- buffers and sizes (one at a time: timing-sensitive) ----

  scenario(
    'large messages: 1 MiB and 16 MiB from the server, 16 MiB echoed',
    async ({ WebSocket, at, log, sha256 }) => {
      for (const size of [1024 * 1024, 16 * 1024 * 1024]) {
        const ws = new WebSocket(at(`/big?size=${size}`));
        ws.binaryType = 'arraybuffer';
        ws.onopen = () => ws.send('go');
        const data = await new Promise<ArrayBuffer>((resolve) => {
          ws.onmessage = (event) => resolve(event.data);
        });
        log({ size, length: data.byteLength, sha256: await sha256(data) });
        ws.close();
      }
      const ws = new WebSocket(at('/echo'));
      const payload = new Uint8Array(16 * 1024 * 1024);
      for (let i = 0; i < payload.length; i++) payload[i] = (i * 13) & 0xff;
      ws.onopen = () => {
        ws.send(payload);
        log({ bufferedAmount: ws.bufferedAmount });
      };
      const blob = await new Promise<Blob>((resolve) => {
        ws.onmessage = (event) => resolve(event.data);
      });
      log({
        echoed: blob.size,
        same: (await sha256(blob)) === (await sha256(payload)),
        bufferedAmount: ws.bufferedAmount,
      });
      ws.close();
    },
    { serial: true, timeout: 60_000 },
  );

  scenario(
    'bufferedAmount rises while the server does not read, and returns to 0',
    async ({ WebSocket, at, log, sleep }) => {
      const ws = new WebSocket(at('/slow?ms=400'));
      await new Promise((resolve) => ws.addEventListener('open', resolve));
      const chunk = new Uint8Array(1024 * 1024);
      let sent = 0;
      for (let i = 0; i < 32; i++) {
        ws.send(chunk);
        sent += chunk.length;
      }
      log({ afterSend: ws.bufferedAmount === sent });
      await sleep(200);
      const duringPause = ws.bufferedAmount;
      log({ stillAboveFourMiB: duringPause > 4 * 1024 * 1024 });
      let max = duringPause;
      // bufferedAmount never falls once the socket closes: stop waiting then (no endless loop).
      while (ws.bufferedAmount > 0 && ws.readyState === ws.OPEN) {
        max = Math.max(max, ws.bufferedAmount);
        await sleep(10);
      }
      log({ drained: ws.bufferedAmount, neverAboveSent: max <= sent });
      ws.send('done');
      const reply = await new Promise((resolve) => {
        ws.onmessage = (event) => resolve(event.data);
      });
      log({ reply });
      ws.close();
    },
    { serial: true, timeout: 60_000 },
  );
});
