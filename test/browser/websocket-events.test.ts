// The WHATWG WebSocket's events and its closing wait, in Chromium's native class and in tsws's
// (src/whatwg/websocket.ts), against the same test server; the two logs must be equal.
// (websocket.test.ts has the rest of the API; this file keeps that one under its size.)
import { browserSuite } from '../helpers/browser-harness.js';

browserSuite('WebSocket events: Chromium and tsws log the same', (scenario) => {
  scenario(
    'event class strings, and MessageEvent ports (a frozen array, the same at each access)',
    async ({ WebSocket, at, rawUrl, log, watch }) => {
      const shape = (event: Event) => {
        const tag = Object.getOwnPropertyDescriptor(
          Object.getPrototypeOf(event),
          Symbol.toStringTag,
        );
        const d: Record<string, unknown> = {
          type: event.type,
          toString: Object.prototype.toString.call(event),
          protoTag: tag === undefined ? null : { ...tag },
          isEvent: event instanceof Event,
        };
        if (event.type === 'message') {
          const m = event as MessageEvent;
          const ports = m.ports;
          d.messageEvent = event instanceof MessageEvent;
          d.ports = {
            isArray: Array.isArray(ports),
            length: ports.length,
            frozen: Object.isFrozen(ports),
            same: ports === m.ports,
          };
        }
        return d;
      };
      const ws = new WebSocket(at('/echo'));
      ws.onopen = () => ws.send('hello');
      ws.onmessage = () => ws.close(1000);
      await watch(ws, { onEvent: (event) => log(shape(event)) });
      // A failed handshake: error, then close.
      const failed = new WebSocket(at('/bad-accept', rawUrl));
      await watch(failed, { label: 'failed', onEvent: (event) => log(shape(event)) });
    },
  );

  scenario(
    'a server that sends Close and keeps TCP open',
    async ({ WebSocket, at, rawUrl, log, watch, serverLog }) => {
      // The client answers, waits a while for the server to close TCP, then closes it itself
      // (Chromium: 2 s), and the close is clean. Not the 30 s close timeout: the scenario's own
      // limit is shorter.
      const url = at('/close-linger', rawUrl);
      const ws = new WebSocket(url);
      await watch(ws);
      log({ server: await serverLog(url) });
    },
    { timeout: 15_000 },
  );
});
