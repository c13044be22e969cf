/**
 * The chaos run's own Redis (appendonly) and Postgres (a fresh initdb'd cluster with pgvector) on
 * spare loopback ports, as child processes it can stop and start again. Every process started
 * here is recorded in `children` (and in EMBEDQ_CHAOS_PIDFILE when set, for the shell's trap), so
 * nothing outlives the run.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

export const children = new Set<ChildProcess>();

/** Starts a child, logs its output to `log`, remembers it until it exits. */
export function startChild(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; log: string; uid?: number; gid?: number }): ChildProcess {
  const fd = openSync(opts.log, 'a');
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', fd, fd], ...(opts.uid !== undefined ? { uid: opts.uid, gid: opts.gid } : {}) });
  children.add(child);
  // pid and start time (/proc/<pid>/stat field 22), so the shell's trap never kills a reused pid.
  if (process.env.EMBEDQ_CHAOS_PIDFILE && child.pid) {
    let started = '';
    try {
      started = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]!;
    } catch {}
    appendFileSync(process.env.EMBEDQ_CHAOS_PIDFILE, `${child.pid} ${started}\n`);
  }
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGKILLs every child still running (last resort: the process is exiting). */
export function killAll(): void {
  for (const c of children) c.kill('SIGKILL');
}

/** Ends `child` with `signal`, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface Service {
  readonly url: string;
  /** Stops it (Redis: SIGTERM, which flushes the AOF; Postgres: fast shutdown, which ends every connection). */
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`chaos: ${what} did not come up within ${timeoutMs / 1000} s`);
    await sleep(200);
  }
}

export async function redisService(dir: string): Promise<Service> {
  const port = await freePort();
  mkdirSync(join(dir, 'redis'), { recursive: true });
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;
  const svc: Service = {
    url,
    async start() {
      child = startChild('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', join(dir, 'redis'), '--appendonly', 'yes', '--save', '', '--daemonize', 'no', '--maxmemory-policy', 'noeviction'], { log: join(dir, 'redis.log') });
      await until('redis', async () => execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG');
    },
    async stop() {
      if (child) await stopChild(child, 'SIGTERM');
    },
  };
  await svc.start();
  return svc;
}

function pgBinDir(): string {
  if (process.env.EMBEDQ_PG_BINDIR) return process.env.EMBEDQ_PG_BINDIR;
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (existsSync(`/usr/lib/postgresql/${v}/bin/postgres`)) return `/usr/lib/postgresql/${v}/bin`;
  return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
}

/** Postgres refuses to run as root: as root, the cluster belongs to the `postgres` user. */
function pgUser(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  return { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) };
}

export async function postgresService(dir: string): Promise<Service> {
  const port = await freePort();
  const bin = pgBinDir();
  const user = pgUser();
  const data = join(dir, 'pg');
  mkdirSync(data, { recursive: true });
  chmodSync(dir, 0o755);
  chmodSync(data, 0o700);
  if (user.uid !== undefined) chownSync(data, user.uid, user.gid!);
  execFileSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'], { stdio: 'ignore', ...user });
  // Speed over durability: a fast shutdown still writes everything, and the chaos run never crashes Postgres itself.
  writeFileSync(join(data, 'postgresql.auto.conf'), ["listen_addresses = '127.0.0.1'", `unix_socket_directories = '${data}'`, 'max_connections = 300', 'fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'shared_buffers = 128MB', ''].join('\n'));
  if (user.uid !== undefined) chownSync(join(data, 'postgresql.auto.conf'), user.uid, user.gid!);
  let child: ChildProcess | undefined;
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const url = `postgres://postgres@127.0.0.1:${port}/embedq`;
  const answers = async (u: string) => {
    const c = new pg.Client({ connectionString: u, connectionTimeoutMillis: 2000 });
    c.on('error', () => {});
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } finally {
      await c.end().catch(() => {});
    }
  };
  const svc: Service = {
    url,
    async start() {
      child = startChild(join(bin, 'postgres'), ['-D', data, '-p', String(port)], { log: join(dir, 'postgres.log'), ...user });
      await until('postgres', () => answers(admin));
    },
    async stop() {
      if (child) await stopChild(child, 'SIGINT');
    },
  };
  await svc.start();
  const c = new pg.Client(admin);
  await c.connect();
  await c.query('CREATE DATABASE embedq');
  await c.end();
  const d = new pg.Client(url);
  await d.connect();
  await d.query('CREATE EXTENSION IF NOT EXISTS vector');
  await d.end();
  return svc;
}
