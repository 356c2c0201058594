// Autobahn 12.x: compressed echo of five kinds of data (JSON, a bitmap, prose sent as binary,
// HTML, a PDF-like mix of text and compressed streams) at Autobahn's 18 message sizes, whole and
// with the compressed payload cut into frames of 256 B to 32 KiB, against both roles of tsws:
// - server: a tsws server (compression on, every message compressed) and a raw client offering
//   what Chromium offers (`permessage-deflate; client_max_window_bits`: context takeover both
//   ways, 15-bit windows);
// - client: a tsws client (its default offer) and a raw server accepting it as Autobahn's
//   fuzzing server does (`permessage-deflate`).
// The raw peer compresses with its own zlib and inflates every echo strictly within the agreed
// parameters (deflate-conformance.ts). A ping sits inside each fragmented message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  countFor,
  ENDPOINT_DEFLATE,
  echo,
  finish,
  html,
  MSG_SIZES,
  openClientRole,
  openServerRole,
  pdfLike,
  prose,
  ROLES,
} from '../helpers/deflate-conformance.js';
import {
  type EchoServer,
  imagePayload,
  startDeflateServer,
  textCorpus,
} from '../helpers/deflate-wire.js';

const DATA: [
  id: string,
  title: string,
  make: (size: number, seed: number) => Buffer,
  binary: boolean,
][] = [
  ['12.1', 'JSON data (UTF-8 text)', textCorpus, false],
  ['12.2', 'a bitmap picture (binary)', imagePayload, true],
  ['12.3', 'human-readable text (binary)', prose, true],
  ['12.4', 'HTML (UTF-8 text)', html, false],
  ['12.5', 'a PDF: text and compressed streams (binary)', pdfLike, true],
];

/** Chromium's offer, and the answer of Autobahn's fuzzing server to the default offer. */
const BROWSER_OFFER = 'permessage-deflate; client_max_window_bits';
const PLAIN_ANSWER = 'permessage-deflate';

for (const role of ROLES) {
  describe(`${role}: 12.x compressed echo of different payloads (Autobahn)`, () => {
    let server: EchoServer | undefined;
    before(async () => {
      if (role === 'server') {
        server = await startDeflateServer({ maxPayload: 0, perMessageDeflate: ENDPOINT_DEFLATE });
      }
    });
    after(() => server?.close());

    for (const [id, title, make, binary] of DATA) {
      for (const [i, [size, fragment]] of MSG_SIZES.entries()) {
        const count = countFor(size);
        const framing = fragment === 0 ? 'whole' : `compressed payload in frames of ${fragment} B`;
        it(`${role} ${id}.${i + 1}: ${title}, ${count} messages of ${size} B, ${framing}`, async () => {
          const link =
            role === 'server'
              ? await openServerRole(BROWSER_OFFER, {}, server)
              : await openClientRole(PLAIN_ANSWER);
          try {
            assert.equal(
              link.role === 'server' ? link.header : link.endpoint.extensions,
              'permessage-deflate',
            );
            const seed = Number(id.split('.')[1]) * 1000 + i * 10;
            const messages = Array.from({ length: count }, (_, k) => ({
              data: make(size, seed + k),
              binary,
              fragment: fragment === 0 ? undefined : fragment,
              pingInside: k === 0,
            }));
            await echo(link, messages);
            assert.equal(await finish(link), 1000);
          } finally {
            await link.close();
          }
        });
      }
    }
  });
}
