// Redis for the pub/sub integration tests: the shared server at 127.0.0.1:6379 (keys under a
// prefix unique to each test, expiring on their own), and private redis-server processes on
// a free port for the tests that stop and restart Redis (never the shared one).
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import * as net from 'node:net';
import { Redis } from 'ioredis';

export const REDIS_URL = 'redis://127.0.0.1:6379';
export const REDIS_SERVER = '/usr/bin/redis-server';

/** A key and channel prefix no other test uses. */
export function uniquePrefix(label = 't'): string {
  return `tsws-test:${label}:${randomBytes(6).toString('hex')}:`;
}

/** A plain client for the test's own commands, closed by `release`. */
export function redisClient(url = REDIS_URL): Redis {
  return new Redis(url, { maxRetriesPerRequest: 1 });
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

/** A private redis-server without persistence, which a test may stop and start again. */
export class PrivateRedis {
  private child: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<PrivateRedis> {
    if (!existsSync(REDIS_SERVER)) {
      throw new Error(
        `${REDIS_SERVER} is missing: install Debian's "redis-server" package (.ci/run does)`,
      );
    }
    const redis = new PrivateRedis(await freePort());
    await redis.resume();
    return redis;
  }

  /** One on a free port, not started yet (`resume` starts it): a Redis that is down. */
  static async stopped(): Promise<PrivateRedis> {
    return new PrivateRedis(await freePort());
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts the server (again) on the same port, with no data; resolves once it answers. */
  async resume(): Promise<void> {
    const child = spawn(
      REDIS_SERVER,
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.child = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const deadline = Date.now() + 10_000;
    while (!/Ready to accept connections/.test(output)) {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output}`);
      if (Date.now() > deadline) throw new Error(`redis-server did not start: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Kills the server at once (as a crash): its data is gone. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }
}
