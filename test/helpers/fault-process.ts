/**
 * Drives test/helpers/fault-peer.ts in a child process (optionally inside a network
 * namespace), and sets up network namespaces joined by a veth pair for tests that cut a link.
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { within } from './node-util.js';

const peerScript = fileURLToPath(new URL('./fault-peer.js', import.meta.url));

export interface PeerEvent {
  ev: 'listening' | 'open' | 'message' | 'close' | 'sent';
  port?: number;
  size?: number;
  text?: string;
  code?: number;
  reason?: string;
}

export class FaultPeer {
  readonly child: ChildProcessWithoutNullStreams;
  readonly events: PeerEvent[] = [];
  private readonly waiters = new Set<() => void>();
  private stderr = '';

  constructor(args: string[], netns?: string) {
    const command = netns === undefined ? process.execPath : 'ip';
    const prefix = netns === undefined ? [] : ['netns', 'exec', netns, process.execPath];
    this.child = spawn(command, [...prefix, peerScript, ...args], { stdio: 'pipe' });
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
    });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      this.events.push(JSON.parse(line) as PeerEvent);
      for (const wake of this.waiters) wake();
    });
  }

  /** The first event (from the start) named `ev`, waiting for it if need be. */
  event(ev: PeerEvent['ev'], ms = 10_000): Promise<PeerEvent> {
    const find = () => this.events.find((e) => e.ev === ev);
    const found = find();
    if (found !== undefined) return Promise.resolve(found);
    let wake: () => void = () => {};
    return within(
      new Promise<PeerEvent>((resolve) => {
        wake = () => {
          const e = find();
          if (e !== undefined) resolve(e);
        };
        this.waiters.add(wake);
      }),
      `"${ev}" from the peer process (stderr: ${this.stderr.trim() || 'empty'})`,
      ms,
    ).finally(() => this.waiters.delete(wake));
  }

  command(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process (continued first, if it was stopped) and waits for it to exit. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    this.child.kill('SIGCONT');
    await exited;
  }
}

/** Two network namespaces joined by a veth pair: `a` at 10.213.0.1, `b` at 10.213.0.2. */
export interface VethPair {
  a: string;
  b: string;
  addressA: string;
  /** Takes b's end of the link down: from then on nothing passes, and no FIN or RST is sent. */
  cut(): void;
  remove(): void;
}

function ip(...args: string[]): void {
  const result = spawnSync('ip', args, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new Error(`ip ${args.join(' ')}: ${result.error?.message ?? result.stderr.trim()}`);
  }
}

/**
 * Why network namespaces can't be made here (not root, no `ip`), or undefined when they can.
 * Creating them needs CAP_SYS_ADMIN and CAP_NET_ADMIN; CI runs as root.
 */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `iproute2's ip is missing (${probe.error.message})`;
  return undefined;
}

export function createVethPair(): VethPair {
  const tag = `${process.pid % 100000}`;
  const a = `tsws-fa-${tag}`;
  const b = `tsws-fb-${tag}`;
  const remove = () => {
    spawnSync('ip', ['netns', 'del', a]);
    spawnSync('ip', ['netns', 'del', b]);
  };
  remove();
  try {
    ip('netns', 'add', a);
    ip('netns', 'add', b);
    ip(
      'link',
      'add',
      `tfa${tag}`,
      'netns',
      a,
      'type',
      'veth',
      'peer',
      'name',
      `tfb${tag}`,
      'netns',
      b,
    );
    ip('-n', a, 'addr', 'add', '10.213.0.1/30', 'dev', `tfa${tag}`);
    ip('-n', b, 'addr', 'add', '10.213.0.2/30', 'dev', `tfb${tag}`);
    for (const [ns, dev] of [
      [a, `tfa${tag}`],
      [b, `tfb${tag}`],
    ] as const) {
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'link', 'set', dev, 'up');
    }
  } catch (error) {
    remove();
    throw error;
  }
  return {
    a,
    b,
    addressA: '10.213.0.1',
    cut: () => ip('-n', b, 'link', 'set', `tfb${tag}`, 'down'),
    remove,
  };
}
