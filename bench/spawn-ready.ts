/** For benchmarks that run embedq processes: start one and wait for the line that says it is ready. */
import { spawn, type ChildProcess } from 'node:child_process';

/** Spawns a child and resolves with it once `ready` matches a line it printed (stdout or stderr). */
export function startReady(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let seen = '';
    const check = (d: Buffer) => {
      seen += d.toString();
      const line = seen.split('\n').find((l) => ready.test(l));
      if (line) resolve({ child, line });
    };
    child.stdout!.on('data', check);
    child.stderr!.on('data', check);
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code} before it was ready: ${seen.slice(-1000)}`)));
  });
}
