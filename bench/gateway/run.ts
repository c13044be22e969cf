/**
 * `npm run bench:gateway`: embedq serve's /v1/embeddings against the provider simulator at zero
 * added latency, with autocannon, in one run beside
 *   - the simulator direct (the floor),
 *   - embedq on the miss path (a fresh text in every input of every request),
 *   - embedq on the hit path (the same inputs, cached),
 *   - Portkey's open-source gateway (@portkey-ai/gateway, bench/gateway's own package.json) routed
 *     to the same simulator.
 * For 1 and 64 inputs, float and base64: latency at concurrency 1 (p50/p95/p99 ms) and requests/s
 * at concurrency 32, and CPU ms per request of the gateway process (from /proc: user + system).
 * Compare within one run: the machine is shared and noisy.
 *
 *   npm run bench:gateway -- [--seconds 5] [--only 'embedq miss'] [--inputs 1] [--encoding float] [--cpu-prof DIR]
 *
 * `--cpu-prof DIR` writes a V8 CPU profile of the embedq serve process into DIR (open it in Chrome
 * DevTools or speedscope) when the run ends.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createContext } from '../../src/context.ts';
import { createApiKey } from '../../src/gateway/keys.ts';
import { createLogger } from '../../src/logger.ts';
import { loadConfig } from '../../src/config/load.ts';
import { migrate } from '../../src/store/migrate.ts';
import { startReady } from '../spawn-ready.ts';

const require = createRequire(import.meta.url);
const autocannon = require('./node_modules/autocannon') as (o: Record<string, unknown>) => Promise<AutocannonResult>;
interface AutocannonResult {
  requests: { average: number; total: number };
  latency: { p50: number; p97_5: number; p99: number; p90: number };
  non2xx: number;
  errors: number;
  timeouts: number;
  '2xx': number;
}

const { values: args } = parseArgs({
  options: { seconds: { type: 'string', default: '5' }, only: { type: 'string' }, inputs: { type: 'string' }, encoding: { type: 'string' }, 'cpu-prof': { type: 'string' } },
});
const SECONDS = Number(args.seconds);
const ROOT = new URL('../..', import.meta.url).pathname;
const MODEL = 'text-embedding-3-small';

/** CPU ms (user + system) a process has used so far. */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 (utime, stime) are the 12th and 13th after the command name; clock ticks of 10 ms.
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'embedq-bench-gw-'));
  const sim = await startReady([join(ROOT, 'test/support/simulator/index.ts'), '--port', '0'], process.env, /"url":/);
  const simUrl = (JSON.parse(sim.line) as { url: string }).url;
  const schema = `bench_gw_${process.pid}`;
  const configPath = join(dir, 'embedq.config.json');
  writeFileSync(configPath, JSON.stringify({ openai: { baseUrl: simUrl }, aliases: { [MODEL]: `openai/${MODEL}` }, dbSchema: schema, redisPrefix: schema, logLevel: 'error' }));
  const env = { ...process.env, EMBEDQ_CONFIG: configPath, OPENAI_API_KEY: 'sk-bench-0123456789' };
  const config = loadConfig({ env, file: configPath });
  const ctx = createContext(config, { logger: createLogger('silent') });
  await migrate(ctx.db, schema);
  const { secret } = await createApiKey(ctx.db, 'bench');
  const prof = args['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${args['cpu-prof']}`] : [];
  const serve = await startReady([...prof, join(ROOT, 'bin/embedq'), 'serve', '--port', '0'], env, /listening on http/);
  const embedqUrl = /listening on (http:\/\/\S+)/.exec(serve.line)![1]!;
  const portkey = await startReady([join(ROOT, 'bench/gateway/node_modules/@portkey-ai/gateway/build/start-server.js'), '--port=18787', '--headless'], process.env, /Ready for connections/);
  const children: ChildProcess[] = [sim.child, serve.child, portkey.child];

  const targets = {
    direct: { url: `${simUrl}/embeddings`, headers: { authorization: 'Bearer sk-bench-0123456789' }, pid: sim.child.pid! },
    'embedq miss': { url: `${embedqUrl}/v1/embeddings`, headers: { authorization: `Bearer ${secret}` }, pid: serve.child.pid!, fresh: true },
    'embedq hit': { url: `${embedqUrl}/v1/embeddings`, headers: { authorization: `Bearer ${secret}` }, pid: serve.child.pid! },
    portkey: { url: 'http://127.0.0.1:18787/v1/embeddings', headers: { authorization: 'Bearer sk-bench-0123456789', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': simUrl }, pid: portkey.child.pid! },
  } as const;

  let seq = 0;
  const body = (n: number, encoding: string, fresh: boolean) =>
    JSON.stringify({ model: MODEL, encoding_format: encoding, input: Array.from({ length: n }, (_, i) => (fresh ? `fresh text ${process.pid} ${seq++} for the miss path` : `the same cached text number ${i}`)) });

  const rows: string[][] = [];
  for (const n of args.inputs ? [Number(args.inputs)] : [1, 64])
    for (const encoding of args.encoding ? [args.encoding] : ['float', 'base64']) {
      const result: Record<string, { p50: number; p95: number; p99: number; rps: number; cpu: number; failed: number }> = {};
      for (const [name, t] of Object.entries(targets)) {
        if (args.only && name !== args.only && name !== 'direct') continue;
        const fresh = 'fresh' in t && t.fresh;
        const run = async (connections: number) => {
          const before = cpuMs(t.pid);
          const r = await autocannon({
            url: t.url,
            method: 'POST',
            connections,
            duration: SECONDS,
            headers: { 'content-type': 'application/json', ...t.headers },
            ...(fresh ? { requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: body(n, encoding, true) }) }] } : { body: body(n, encoding, false) }),
          });
          return { r, cpu: (cpuMs(t.pid) - before) / Math.max(1, r.requests.total) };
        };
        // Warm up (and fill the cache for the hit path).
        await autocannon({ url: t.url, method: 'POST', connections: 1, amount: 20, headers: { 'content-type': 'application/json', ...t.headers }, body: body(n, encoding, fresh) });
        const one = await run(1);
        const many = await run(32);
        result[name] = { p50: one.r.latency.p50, p95: one.r.latency.p97_5, p99: one.r.latency.p99, rps: many.r.requests.average, cpu: many.cpu, failed: one.r.non2xx + one.r.errors + many.r.non2xx + many.r.errors };
        process.stderr.write(`bench:gateway: ${n} × ${encoding} ${name}: ${JSON.stringify(result[name])}\n`);
      }
      const direct = result.direct!;
      for (const [name, x] of Object.entries(result))
        rows.push([
          String(n),
          encoding,
          name,
          x.p50.toFixed(2),
          x.p95.toFixed(2),
          x.p99.toFixed(2),
          name === 'direct' ? '-' : `+${(x.p50 - direct.p50).toFixed(2)}`,
          x.rps.toFixed(0),
          `${((100 * x.rps) / direct.rps).toFixed(1)}%`,
          x.cpu.toFixed(2),
          String(x.failed),
        ]);
    }
  const header = ['inputs', 'encoding', 'target', 'c=1 p50 ms', 'p97.5 ms', 'p99 ms', 'p50 over direct', 'c=32 req/s', 'of direct', 'CPU ms/req (c=32)', 'non-2xx'];
  process.stdout.write(`${[header, header.map(() => '---'), ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n')}\n`);
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => serve.child.once('exit', r)); // the CPU profile is written on exit
  await ctx.db.query(`DROP SCHEMA ${schema} CASCADE`);
  await ctx.close();
}

await main();
