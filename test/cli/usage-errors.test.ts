import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { WebSocketServer } from '../../src/index.js';
import { cliPath, run } from '../helpers/process.js';

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const { port } = blocker.address() as AddressInfo;
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  return port;
}

/** Exactly one line on stderr, no stack trace. */
function oneLine(stderr: string): string {
  assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
  const lines = stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, stderr);
  return lines[0]!;
}

describe('tsws <command> --help', () => {
  for (const command of ['serve', 'connect', 'bench']) {
    it(`${command} --help prints that command's usage only, exit 0`, async () => {
      const p = run([cliPath, command, '--help']);
      assert.equal(await p.exit(), 0, p.stderr());
      assert.match(p.stdout(), new RegExp(`tsws ${command} `));
      for (const other of ['serve', 'connect', 'bench'].filter((c) => c !== command)) {
        assert.doesNotMatch(p.stdout(), new RegExp(`tsws ${other} `), other);
      }
    });
  }

  it('a usage error prints one line, then the usage of that command only (exit 2)', async () => {
    const p = run([cliPath, 'connect', 'ws://127.0.0.1:1/', '--no-such-flag']);
    assert.equal(await p.exit(), 2);
    const [first, blank, ...usage] = p.stderr().split('\n');
    assert.match(first!, /^tsws: .*--no-such-flag/);
    assert.equal(blank, '');
    assert.match(usage.join('\n'), /tsws connect <url>/);
    assert.doesNotMatch(p.stderr(), /tsws serve|tsws bench/);
  });
});

describe('tsws serve: errors of its environment are one line, exit 1', () => {
  it('a port in use', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const { port } = blocker.address() as AddressInfo;
    try {
      const p = run([cliPath, 'serve', '--port', String(port), '--host', '127.0.0.1']);
      assert.equal(await p.exit(), 1);
      assert.match(oneLine(p.stderr()), new RegExp(`^tsws: port ${port} is in use`));
    } finally {
      blocker.close();
    }
  });

  it('a host that does not resolve', async () => {
    const p = run([cliPath, 'serve', '--port', '0', '--host', 'no-such-host.invalid'], {});
    assert.equal(await p.exit(20_000), 1);
    assert.match(oneLine(p.stderr()), /^tsws: unknown host: no-such-host\.invalid/);
  });

  it('says where it listens: the host given only', async (t) => {
    const p = run([cliPath, 'serve', '--port', '0', '--host', '127.0.0.1']);
    t.after(() => p.child.kill('SIGKILL'));
    await p.line(/ws:\/\/127\.0\.0\.1:\d+\//);
    assert.match(p.stdout(), /listening on 127\.0\.0\.1 only, port \d+/);
  });
});

describe('tsws connect and bench: user errors', () => {
  it('connect localhost:8080 suggests ws://localhost:8080 (exit 2)', async () => {
    const p = run([cliPath, 'connect', 'localhost:8080']);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr().split('\n')[0]!, /did you mean ws:\/\/localhost:8080\?/);
  });

  it('bench against a closed port: one line, no table of zeros (exit 1)', async () => {
    const port = await closedPort();
    const p = run([cliPath, 'bench', `ws://127.0.0.1:${port}/`, '-c', '5', '--quiet']);
    assert.equal(await p.exit(), 1);
    assert.equal(p.stdout(), '');
    assert.match(
      oneLine(p.stderr()),
      /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/: .*ECONNREFUSED/,
    );
  });

  it('bench refuses a bad size and names the flag (exit 2)', async () => {
    const p = run([cliPath, 'bench', 'ws://127.0.0.1:1/', '--size', '12Q']);
    assert.equal(await p.exit(), 2);
    assert.match(p.stderr(), /--size/);
  });
});

describe('tsws connect --json and bench sizes with suffixes', () => {
  let wss: WebSocketServer;
  let url: string;
  before(async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    wss.on('connection', (ws) => {
      ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    });
    await once(wss, 'listening');
    url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => wss.close(() => resolve())));

  it('connect --json prints one JSON event a line on stdout', async () => {
    const p = run([cliPath, 'connect', url, '--json', '-x', 'hello']);
    assert.equal(await p.exit(), 0, p.stderr());
    const events = p
      .stdout()
      .trimEnd()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(events, [
      { event: 'open', protocol: '' },
      { event: 'message', type: 'text', data: 'hello' },
      { event: 'close', code: 1000, reason: '' },
    ]);
  });

  it('bench --size 1K sends 1024-byte messages', async () => {
    const p = run([
      cliPath,
      'bench',
      url,
      ...['-c', '1', '-w', '1', '--size', '1K', '-d', '0.2', '--warmup', '0', '--json', '-q'],
    ]);
    assert.equal(await p.exit(), 0, p.stderr());
    assert.equal((JSON.parse(p.stdout()) as { size: number }).size, 1024);
  });
});
