import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runExample } from './run-line.js';

it('compression: both ends agree on permessage-deflate without context takeover, messages echo', async () => {
  const p = runExample('compression');
  assert.equal(await p.exit(), 0, p.stderr());
  const agreed = 'permessage-deflate; server_no_context_takeover; client_no_context_takeover';
  assert.match(p.stdout(), new RegExp(`server: agreed "${agreed}"\\n`));
  assert.match(p.stdout(), new RegExp(`client: agreed "${agreed}"\\n`));
  assert.equal(p.stdout().match(/client: message of \d+ bytes\n/g)?.length, 3);
  assert.match(p.stdout(), /client: closed\n/);
});
