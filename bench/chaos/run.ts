/**
 * `npm run chaos [-- --chunks 20000 --workers 3 --batch 100 --kill-every 15 --redis-at 60 --postgres-at 130 --lock-ms 30000 --short]`
 *
 * Runs the chaos schedule (harness.ts, presets.ts), prints progress on stderr and ONE summary line
 * on stdout, and exits 1 when any check failed (each is named on stderr).
 */
import { parseArgs } from 'node:util';
import { formatSummary, runChaos } from './harness.ts';
import { FULL, SHORT } from './presets.ts';
import { killAll } from './services.ts';

const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    chunks: { type: 'string' },
    workers: { type: 'string' },
    batch: { type: 'string' },
    'kill-every': { type: 'string' },
    'redis-at': { type: 'string' },
    'postgres-at': { type: 'string' },
    'lock-ms': { type: 'string' },
    'timeout-s': { type: 'string' },
  },
});
const int = (name: string, v: string | undefined, fallback: number | undefined) => {
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v)) {
    console.error(`chaos: --${name} must be a whole number, got ${JSON.stringify(v)}`);
    process.exit(2);
  }
  return Number(v);
};
const base = values.short ? SHORT : FULL;
const opts = {
  ...base,
  chunks: int('chunks', values.chunks, base.chunks)!,
  workers: int('workers', values.workers, base.workers)!,
  embedBatch: int('batch', values.batch, base.embedBatch)!,
  killEvery: int('kill-every', values['kill-every'], base.killEvery)!,
  redisRestartAt: int('redis-at', values['redis-at'], base.redisRestartAt)!,
  postgresRestartAt: int('postgres-at', values['postgres-at'], base.postgresRestartAt)!,
  lockMs: int('lock-ms', values['lock-ms'], base.lockMs),
  timeoutMs: (int('timeout-s', values['timeout-s'], base.timeoutMs / 1000)! * 1000),
  log: (l: string) => console.error(l),
};
for (const sig of ['SIGINT', 'SIGTERM'] as const)
  process.once(sig, () => {
    console.error(`chaos: ${sig}, stopping every process it started`);
    killAll();
    process.exit(130);
  });
process.once('exit', killAll);
try {
  const s = await runChaos(opts);
  for (const c of s.workerCrashes) console.error(`chaos: ${c}`);
  for (const f of s.failures) console.error(`chaos: FAILED: ${f}`);
  console.log(formatSummary(s));
  process.exitCode = s.failures.length ? 1 : 0;
} catch (e) {
  console.error(`chaos: the harness itself failed: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 2;
}
