// permessage-deflate with Chromium's native WebSocket and its default offer: a tsws server with
// compression on echoes text and binary messages of several sizes (up to 1 MiB); the page
// checks every echo and reports `ws.extensions`. A TCP tap between them records Chromium's
// offer, the 101, and RSV1 on the frames both ways.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { type PerMessageDeflateOptions, WebSocketServer } from '../../src/index.js';
import { launchChromium } from '../helpers/browser-harness.js';
import { parseAgreed } from '../helpers/deflate-conformance.js';
import { messagesOf, PeerZlib, startTap, type Tap } from '../helpers/deflate-wire.js';

const SIZES = [0, 100, 1023, 1024, 65_535, 70_000, 1024 * 1024];

interface Echoed {
  extensions: string;
  results: { size: number; binary: boolean; ok: boolean; bytes: number }[];
  closeCode: number;
}

/** Runs in the page: sends each size as text and as binary, checks each echo in order. */
function pageScript(url: string, sizes: number[]): Promise<Echoed> {
  const text = (size: number) => {
    let s = '';
    const unit = 'héllo wörld ✓ {"n": 42} ';
    while (s.length < size) s += unit;
    return s.slice(0, size);
  };
  const bytes = (size: number) => {
    const b = new Uint8Array(size);
    let x = size;
    for (let i = 0; i < size; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      // Compressible: runs of a few values, with noise.
      b[i] = (i >> 6) % 7 === 0 ? x >>> 24 : (i >> 4) & 0x3f;
    }
    return b;
  };
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const expected: { size: number; binary: boolean; data: string | Uint8Array }[] = [];
    const results: Echoed['results'] = [];
    ws.onerror = () => reject(new Error('WebSocket error'));
    ws.onopen = () => {
      for (const size of sizes) {
        const t = text(size);
        const b = bytes(size);
        expected.push({ size, binary: false, data: t }, { size, binary: true, data: b });
        ws.send(t);
        ws.send(b);
      }
    };
    ws.onmessage = (event) => {
      const want = expected[results.length]!;
      let ok: boolean;
      if (typeof event.data === 'string') ok = !want.binary && event.data === want.data;
      else {
        const got = new Uint8Array(event.data as ArrayBuffer);
        const data = want.data as Uint8Array;
        ok = want.binary && got.length === data.length && got.every((v, i) => v === data[i]);
      }
      const bytes =
        typeof want.data === 'string'
          ? new TextEncoder().encode(want.data).length
          : want.data.length;
      results.push({ size: want.size, binary: want.binary, ok, bytes });
      if (results.length === expected.length) ws.close(1000, 'done');
    };
    ws.onclose = (event) => resolve({ extensions: ws.extensions, results, closeCode: event.code });
  });
}

const CONFIGS: [name: string, options: PerMessageDeflateOptions | true, expected: string][] = [
  ['perMessageDeflate: true', true, 'permessage-deflate'],
  [
    'no server context, 10-bit windows both ways',
    { serverNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 10 },
    'permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=10',
  ],
];

describe('permessage-deflate with Chromium (its native WebSocket and default offer)', () => {
  let browser: Browser;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser?.close());

  for (const [name, options, expected] of CONFIGS) {
    it(`a tsws server with ${name}: "${expected}" agreed, text and binary up to 1 MiB echo, compressed both ways`, async () => {
      const httpServer = http.createServer((_, res) => {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><title>deflate</title>');
      });
      const wss = new WebSocketServer({
        server: httpServer,
        heartbeat: false,
        perMessageDeflate: options,
      });
      wss.on('connection', (ws) => {
        ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
      });
      await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
      const port = (httpServer.address() as AddressInfo).port;
      let tap: Tap | undefined;
      const page = await browser.newPage();
      try {
        tap = await startTap(port);
        await page.goto(`http://127.0.0.1:${port}/`);
        const result = (await page.evaluate(
          // The function's source runs in the page, with its arguments.
          `(${pageScript.toString()})(${JSON.stringify(`ws://127.0.0.1:${tap.port}/echo`)}, ${JSON.stringify(SIZES)})`,
        )) as Echoed;
        assert.equal(result.extensions, expected, 'ws.extensions in the page');
        assert.equal(result.closeCode, 1000);
        assert.equal(result.results.length, SIZES.length * 2);
        for (const r of result.results)
          assert.ok(r.ok, `${r.size} B ${r.binary ? 'binary' : 'text'}`);
        const wire = tap.connections[0]!;
        const offer = /sec-websocket-extensions: ([^\r\n]*)/i.exec(wire.up.head)?.[1];
        assert.equal(offer, 'permessage-deflate; client_max_window_bits', "Chromium's offer");
        const answer = /sec-websocket-extensions: ([^\r\n]*)/i.exec(wire.down.head)?.[1];
        assert.equal(answer, expected, 'the 101');
        const up = messagesOf(wire.up.frames);
        const down = messagesOf(wire.down.frames);
        assert.equal(up.length, SIZES.length * 2);
        assert.equal(down.length, SIZES.length * 2);
        for (let i = 0; i < down.length; i++) {
          const size = result.results[i]!.bytes;
          // tsws compresses from its threshold (1024 B) on; Chromium at least its large messages.
          assert.equal(down[i]!.rsv1, size >= 1024, `tsws → Chromium #${i} (${size} B): RSV1`);
          if (size >= 65_535) assert.ok(up[i]!.rsv1, `Chromium → tsws #${i} (${size} B): RSV1`);
        }
        // Both directions inflate with exactly the agreed window and context mode.
        const agreed = parseAgreed(answer)!;
        for (const [messages, bits, takeover] of [
          [up, agreed.clientMaxWindowBits, !agreed.clientNoContextTakeover],
          [down, agreed.serverMaxWindowBits, !agreed.serverNoContextTakeover],
        ] as const) {
          const z = new PeerZlib(bits, takeover);
          for (const [i, m] of messages.entries()) {
            const data = m.rsv1 ? await z.inflate(m.payload) : m.payload;
            assert.equal(data.length, result.results[i]!.bytes, `#${i} inflated with ${bits} bits`);
          }
          z.close();
        }
      } finally {
        await page.close();
        tap?.close();
        for (const ws of wss.clients ?? []) ws.terminate();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => httpServer.close(() => resolve()));
      }
    });
  }
});
