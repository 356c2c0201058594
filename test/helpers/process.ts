import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

/** The repository root, from build/test/helpers/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliPath = `${repoRoot}dist/cli/main.js`;

export interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first stdout line matching `pattern`. */
  line(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exit(timeoutMs?: number): Promise<number | null>;
}

export function run(args: string[], options: { cwd?: string } = {}): Run {
  const child = spawn(process.execPath, args, { cwd: options.cwd ?? repoRoot, stdio: 'pipe' });
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => {
    err += s;
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    line(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const match = out.match(pattern);
          if (match) {
            cleanup();
            resolve(match);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no line matching ${pattern} within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          child.stdout!.off('data', check);
        };
        child.stdout!.on('data', check);
        check();
      });
    },
    exit(timeoutMs = 10_000) {
      return Promise.race([
        exited,
        new Promise<never>((_, reject) =>
          setTimeout(() => {
            child.kill('SIGKILL');
            reject(
              new Error(
                `process did not exit within ${timeoutMs} ms; stdout: ${out}; stderr: ${err}`,
              ),
            );
          }, timeoutMs).unref(),
        ),
      ]);
    },
  };
}
