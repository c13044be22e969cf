/**
 * backfilling → validating → ready (→ cut_over): run after the backfill's last batch is written
 * and the target's HNSW index built. The gate's numbers are stored whatever the outcome; a gate
 * that fails leaves the reembed in validating, with the numbers shown by `reembed status`.
 */
import type { ProviderPool } from '../providers/pool.ts';
import { withTransaction, type Db } from '../store/db.ts';
import { getIndexVersion } from '../store/indexes.ts';
import { coverage, cutover } from './controller.ts';
import { sampledQueries, score, type GateQuery } from './gate.ts';
import { getReembed, setQuality, transition, type GateNumbers } from './store.ts';

/** @default k 10, sample 50 */
export const GATE = { k: 10, sample: 50 } as const;

export async function advanceAfterBackfill(db: Db, providers: ProviderPool, id: string, actor = 'worker'): Promise<GateNumbers | null> {
  let m = await getReembed(db, id);
  if (!m) return null;
  if (m.state === 'backfilling') {
    await withTransaction(db, (c) => transition(c, id, 'backfilling', 'validating', actor, 'backfill complete'));
    m = (await getReembed(db, id))!;
  }
  if (m.state !== 'validating') return m.quality;
  const cov = await coverage(db, m);
  const queries: GateQuery[] = m.queries ?? (await sampledQueries(db, m.indexId, GATE.sample));
  const [source, target] = await Promise.all([getIndexVersion(db, m.sourceVersionId), getIndexVersion(db, m.targetVersionId)]);
  const s = await score(db, source!, (await providers.get(source!.modelVersionId)).provider, queries, GATE.k);
  const t = await score(db, target!, (await providers.get(target!.modelVersionId)).provider, queries, GATE.k);
  const qualityOk = t.recall >= m.qualityFloor * s.recall;
  const coverageOk = cov.ratio >= m.coverageThreshold;
  const reason = !coverageOk
    ? `coverage ${cov.ratio.toFixed(4)} is below ${m.coverageThreshold}`
    : !qualityOk
      ? `target recall@${GATE.k} ${t.recall.toFixed(3)} is below ${m.qualityFloor} × source ${s.recall.toFixed(3)}`
      : `target recall@${GATE.k} ${t.recall.toFixed(3)} ≥ ${m.qualityFloor} × source ${s.recall.toFixed(3)}, coverage ${cov.ratio.toFixed(4)}`;
  const q: GateNumbers = { method: m.queries ? 'queries' : 'sampled', k: GATE.k, n: queries.length, coverage: cov.ratio, source: s, target: t, passed: qualityOk && coverageOk, reason };
  await setQuality(db, id, q);
  if (!q.passed) return q;
  await withTransaction(db, (c) => transition(c, id, 'validating', 'ready', actor, `quality gate passed: ${reason}`));
  if (m.autoCutover) await cutover(db, id, actor, false);
  return q;
}
