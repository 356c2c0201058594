// A private Redis Cluster for the cluster tests: redis-server processes with cluster mode on
// free loopback ports (each also takes its bus port, port + 10000), joined with
// `redis-cli --cluster create`, in a temporary directory removed by `stop`.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { REDIS_SERVER } from './redis.js';

/** TSWS_CLUSTER_SERVER / TSWS_CLUSTER_CLI run the cluster on other binaries (valkey-server). */
const SERVER = process.env.TSWS_CLUSTER_SERVER ?? REDIS_SERVER;
export const REDIS_CLI = process.env.TSWS_CLUSTER_CLI ?? '/usr/bin/redis-cli';

const run = promisify(execFile);

/** Whether the cluster tests can run here, or why not. */
export function clusterSkipReason(): string | undefined {
  if (!existsSync(SERVER)) return `${SERVER} is not installed (Debian redis-server)`;
  if (!existsSync(REDIS_CLI)) return `${REDIS_CLI} is not installed (Debian redis-tools)`;
  return undefined;
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` consecutive ports from a random base above 17000 whose bus ports are free too. */
async function freePorts(count: number): Promise<number[]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 17_000 + Math.floor(Math.random() * 2_900);
    const ports = Array.from({ length: count }, (_, i) => base + i);
    let free = true;
    for (const port of ports) {
      if (!(await canListen(port)) || !(await canListen(port + 10_000))) {
        free = false;
        break;
      }
    }
    if (free) return ports;
  }
  throw new Error('no free ports for a Redis Cluster');
}

export class RedisCluster {
  private readonly children = new Map<number, ChildProcess>();

  private constructor(
    readonly ports: number[],
    private readonly dir: string,
  ) {}

  /** `masters` masters, each with `replicas` replicas; resolves once the cluster is ok. */
  static async start(masters = 3, replicas = 0): Promise<RedisCluster> {
    const ports = await freePorts(masters * (1 + replicas));
    const cluster = new RedisCluster(ports, mkdtempSync(join(tmpdir(), 'tsws-cluster-')));
    try {
      for (const port of ports) await cluster.spawn(port);
      await run(
        REDIS_CLI,
        [
          '--cluster',
          'create',
          ...ports.map((port) => `127.0.0.1:${port}`),
          '--cluster-replicas',
          String(replicas),
          '--cluster-yes',
        ],
        { timeout: 30_000 },
      );
      await cluster.waitOk(ports);
      if (replicas > 0) await cluster.waitReplicasSynced();
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  get nodes(): { host: string; port: number }[] {
    return this.ports.map((port) => ({ host: '127.0.0.1', port }));
  }

  private async spawn(port: number): Promise<void> {
    const child = spawn(
      SERVER,
      [
        ...['--port', String(port), '--bind', '127.0.0.1'],
        ...[
          '--cluster-enabled',
          'yes',
          '--cluster-config-file',
          join(this.dir, `nodes-${port}.conf`),
        ],
        // A dead master is noticed (and failed over) within about a second.
        ...['--cluster-node-timeout', '1000'],
        ...['--dir', this.dir, '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.children.set(port, child);
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

  /** A client for one node (the caller quits it). */
  client(port: number): Redis {
    return new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, lazyConnect: false });
  }

  /** Runs a command on one node. */
  async call(port: number, ...args: (string | number)[]): Promise<unknown> {
    const client = this.client(port);
    try {
      return await client.call(String(args[0]), ...args.slice(1).map(String));
    } finally {
      client.disconnect();
    }
  }

  /** Waits until every node in `ports` says cluster_state:ok and agrees on who owns what. */
  async waitOk(ports = this.alive(), ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      let ok = true;
      const views = new Set<string>();
      for (const port of ports) {
        try {
          const info = String(await this.call(port, 'CLUSTER', 'INFO'));
          if (!info.includes('cluster_state:ok')) ok = false;
          views.add(JSON.stringify(await this.call(port, 'CLUSTER', 'SLOTS')));
        } catch {
          ok = false;
        }
      }
      if (ok && views.size === 1) return;
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not become ok');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async waitReplicasSynced(ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      let synced = true;
      for (const port of this.ports) {
        const info = String(await this.call(port, 'INFO', 'replication'));
        if (info.includes('role:slave') && !info.includes('master_link_status:up')) synced = false;
      }
      if (synced) return;
      if (Date.now() > deadline) throw new Error('the replicas did not sync');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** The ports of the nodes still running. */
  alive(): number[] {
    return this.ports.filter((port) => {
      const child = this.children.get(port);
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    });
  }

  /** The node id and port of the master that owns `slot`. */
  async owner(slot: number): Promise<{ id: string; port: number }> {
    const port = this.alive()[0]!;
    const slots = (await this.call(port, 'CLUSTER', 'SLOTS')) as [
      number,
      number,
      [string, number, string],
    ][];
    for (const [from, to, [, ownerPort, id]] of slots) {
      if (slot >= from && slot <= to) return { id, port: ownerPort };
    }
    throw new Error(`nobody owns slot ${slot}`);
  }

  /** The id of the node at `port`. */
  async id(port: number): Promise<string> {
    return String(await this.call(port, 'CLUSTER', 'MYID'));
  }

  /** Kills a node at once (as a crash). */
  async kill(port: number): Promise<void> {
    const child = this.children.get(port);
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  async stop(): Promise<void> {
    for (const port of this.children.keys()) await this.kill(port);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
