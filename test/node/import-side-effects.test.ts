import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { repoRoot } from '../helpers/process.js';

/** Runs a module script in a child Node.js with `flags`, from the repository root (the built dist). */
async function runNode(
  flags: string[],
  script: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.TSWS_NO_FAST_PATH;
  const child = spawn(process.execPath, [...flags, '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env,
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr += s;
  });
  const timer = setTimeout(() => child.kill(), 20_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(timer);
  return { code, stdout, stderr };
}

const STRICT = ['--pending-deprecation', '--throw-deprecation'];

// A client and a server attached to an http server: no standalone server, no internals.
const CLIENT_ONLY = `
import http from 'node:http';
import { WebSocket, WebSocketServer } from 'tsws';
import { WebSocket as BrowserWebSocket } from 'tsws/whatwg';
const server = http.createServer();
const wss = new WebSocketServer({ server });
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(String(m))));
server.listen(0, '127.0.0.1', () => {
  const url = 'ws://127.0.0.1:' + server.address().port;
  const ws = new WebSocket(url);
  ws.on('open', () => ws.send('hi'));
  ws.on('message', (m) => {
    const b = new BrowserWebSocket(url);
    b.onopen = () => b.send('there');
    b.onmessage = (e) => {
      console.log(String(m) + ' ' + e.data);
      ws.close(); b.close(); wss.close(); server.close();
    };
  });
});
`;

// A standalone server: would use the fast path, but deprecations throw, so it must use http.
const STANDALONE = `
import { WebSocket, WebSocketServer } from 'tsws';
const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' }, () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
  ws.on('open', () => ws.send('standalone'));
  ws.on('message', (m) => { console.log(String(m)); ws.close(); wss.close(); });
});
wss.on('connection', (ws) => ws.on('message', (m) => ws.send(String(m))));
`;

describe('importing tsws touches no Node internals', () => {
  it('imports tsws and tsws/whatwg with deprecations pending and throwing: no warning, exit 0', async () => {
    const result = await runNode(
      STRICT,
      "await import('tsws'); await import('tsws/whatwg'); await import('tsws/protocol'); console.log('ok');",
    );
    assert.equal(result.stderr, '');
    assert.equal(result.stdout.trim(), 'ok');
    assert.equal(result.code, 0);
  });

  it('a client (and an attached server) under --pending-deprecation prints no DEP0111', async () => {
    const result = await runNode(['--pending-deprecation'], CLIENT_ONLY);
    assert.doesNotMatch(result.stderr, /DEP0111|DeprecationWarning/);
    assert.equal(result.stdout.trim(), 'hi there');
    assert.equal(result.code, 0);
  });

  it('the same client with deprecations throwing exits 0', async () => {
    const result = await runNode(STRICT, CLIENT_ONLY);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout.trim(), 'hi there');
    assert.equal(result.code, 0);
  });

  it('a standalone server with deprecations throwing falls back to http instead of crashing', async () => {
    const result = await runNode(STRICT, STANDALONE);
    assert.equal(result.stderr, '');
    assert.equal(result.stdout.trim(), 'standalone');
    assert.equal(result.code, 0);
  });

  it('NODE_OPTIONS=--throw-deprecation is honoured too', async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_OPTIONS: '--throw-deprecation --pending-deprecation',
    };
    delete env.TSWS_NO_FAST_PATH;
    const child = spawn(process.execPath, ['--input-type=module', '-e', STANDALONE], {
      cwd: repoRoot,
      env,
      stdio: 'pipe',
    });
    let stderr = '';
    let stdout = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(stderr, '');
    assert.equal(stdout.trim(), 'standalone');
    assert.equal(code, 0);
  });
});
