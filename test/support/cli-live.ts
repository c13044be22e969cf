/** Runs the real `bin/embedq` and lets a test wait for what it prints while it runs. */
import { spawn, type ChildProcess } from 'node:child_process';
import { BIN, type CliResult } from './cli.ts';

export interface LiveCli {
  child: ChildProcess;
  /** Resolves once stderr matches (an event, not a timer); rejects if the process ends first. */
  waitForStderr(re: RegExp): Promise<void>;
  done: Promise<CliResult>;
}

export function spawnCli(args: string[], env: Record<string, string | undefined> = {}, opts: { timeoutMs?: number } = {}): LiveCli {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, EMBEDQ_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: { re: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  const check = () => {
    for (const w of [...waiters]) if (w.re.test(stderr)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    check();
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      for (const w of waiters.splice(0)) w.reject(new Error(`embedq ${args.join(' ')} ended (${code ?? signal}) before stderr matched ${w.re}; stderr:\n${stderr}`));
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
  return {
    child,
    done,
    waitForStderr(re) {
      return new Promise((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        check();
      });
    },
  };
}
