// Child processes and machine facts shared by the benchmark scripts (compare.mjs, deflate.mjs):
// a child whose stdout is read line by line, killed with its parent; CPU pinning; versions.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(path.join(ROOT, 'package.json'));

// ---------------------------------------------------------------- child processes

const children = new Set();
export const notes = [];
const started = Date.now();

export function log(line) {
  const s = Math.round((Date.now() - started) / 1000);
  const stamp = `${String(Math.floor(s / 60)).padStart(3)}:${String(s % 60).padStart(2, '0')}`;
  process.stderr.write(`[${stamp}] ${line}\n`);
}
export function note(line) {
  notes.push(line);
  log(`note: ${line}`);
}

export function killAll(signal = 'SIGKILL') {
  for (const child of children) {
    try {
      child.kill(signal);
    } catch {}
  }
}
process.on('exit', () => killAll());
for (const [signal, status] of [
  ['SIGINT', 130],
  ['SIGTERM', 143],
  ['SIGHUP', 129],
]) {
  process.on(signal, () => {
    process.stderr.write(
      `\n${path.basename(process.argv[1] ?? 'bench')}: ${signal}: stopping every child process\n`,
    );
    killAll();
    process.exit(status);
  });
}

/** A child process whose stdout is read line by line. */
export class Proc {
  constructor(name, command, args, { env = {}, stdin = 'ignore' } = {}) {
    this.name = name;
    this.lines = [];
    this.waiters = [];
    this.stderrTail = '';
    this.exit = undefined;
    const fullEnv = { ...process.env };
    for (const [k, v] of Object.entries(env)) {
      if (v === undefined) delete fullEnv[k];
      else fullEnv[k] = v;
    }
    this.child = spawn(command, args, { cwd: ROOT, env: fullEnv, stdio: [stdin, 'pipe', 'pipe'] });
    this.pid = this.child.pid;
    children.add(this.child);
    let partial = '';
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (text) => {
      partial += text;
      let nl = partial.indexOf('\n');
      while (nl >= 0) {
        this.lines.push(partial.slice(0, nl));
        partial = partial.slice(nl + 1);
        nl = partial.indexOf('\n');
      }
      this.poke();
    });
    this.child.stderr.setEncoding('utf8');
    this.child.stderr.on('data', (text) => {
      this.stderrTail = (this.stderrTail + text).slice(-4000);
    });
    this.exited = new Promise((resolve) => {
      this.child.on('error', (error) => {
        this.stderrTail += `\n${error.message}`;
        this.exit = { code: null, signal: null, error };
        children.delete(this.child);
        this.poke();
        resolve(this.exit);
      });
      this.child.on('close', (code, signal) => {
        if (partial) this.lines.push(partial);
        partial = '';
        this.exit ??= { code, signal };
        children.delete(this.child);
        this.poke();
        resolve(this.exit);
      });
    });
  }

  /** Resolves with the next line (not seen by an earlier wait) that passes `test`. */
  waitLine(test, timeoutMs, what) {
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve, reject, what };
      waiter.timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(this.failure(`no ${what} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.waiters.push(waiter);
      this.poke();
    });
  }

  poke() {
    for (const waiter of [...this.waiters]) {
      const index = this.lines.findIndex((line) => waiter.test(line));
      if (index >= 0) {
        const [line] = this.lines.splice(0, index + 1).slice(-1);
        clearTimeout(waiter.timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve(line);
      } else if (this.exit !== undefined) {
        clearTimeout(waiter.timer);
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.reject(this.failure(`exited (${this.exitText()}) before ${waiter.what}`));
      }
    }
  }

  exitText() {
    const e = this.exit;
    if (e === undefined) return 'running';
    return e.error ? e.error.message : e.signal ? `signal ${e.signal}` : `status ${e.code}`;
  }

  failure(message) {
    const tail = this.stderrTail.trim();
    return new Error(`${this.name}: ${message}${tail ? `\n--- its stderr:\n${tail}` : ''}`);
  }

  signal(sig) {
    if (this.exit === undefined) this.child.kill(sig);
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000) {
    if (this.exit !== undefined) return this.exit;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    const exit = await this.exited;
    clearTimeout(timer);
    return exit;
  }

  /** CPU seconds used so far (user + system), from /proc; undefined when unknown. */
  cpuSeconds() {
    try {
      const stat = readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
    } catch {
      return undefined;
    }
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the machine

export function sh(command, args) {
  try {
    return execFileSync(command, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    return undefined;
  }
}

export const CLK_TCK = Number(sh('getconf', ['CLK_TCK'])) || 100;

export function cpuModel() {
  try {
    const info = readFileSync('/proc/cpuinfo', 'utf8');
    const match = /^model name\s*:\s*(.+)$/m.exec(info);
    if (match) return match[1].trim();
  } catch {}
  return os.cpus()[0]?.model ?? 'unknown';
}

export function packageVersion(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return undefined;
  }
}

export function bufferutilState() {
  const version = packageVersion('bufferutil');
  if (version === undefined) return { version, native: false };
  try {
    const native = require('bufferutil').mask.toString().includes('[native code]');
    return { version, native };
  } catch {
    return { version, native: false };
  }
}

/** taskset with CPUs 0 and 1 both allowed, or a reason why not. */
export function pinning() {
  if (os.availableParallelism() < 2) return { ok: false, why: 'fewer than 2 CPUs' };
  if (
    sh('taskset', ['-c', '0', 'true']) === undefined ||
    sh('taskset', ['-c', '1', 'true']) === undefined
  ) {
    return {
      ok: false,
      why: sh('bash', ['-c', 'command -v taskset']) ? 'taskset -c 0/1 failed' : 'no taskset',
    };
  }
  return { ok: true };
}

/** The hard limit on open files (Infinity when unlimited). */
export function hardFdLimit() {
  const text = sh('bash', ['-c', 'ulimit -Hn']);
  if (text === 'unlimited') return Number.POSITIVE_INFINITY;
  const n = Number(text);
  return Number.isFinite(n) && n > 0 ? n : 1024;
}
