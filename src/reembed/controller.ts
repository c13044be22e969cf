/**
 * The reembed controller: each operation is one transaction that changes the data and the
 * state together (the state change is a compare-and-set, so two operations never both win).
 */
import { UsageError } from '../errors.ts';
import type { ResolvedModel } from '../providers/types.ts';
import { withTransaction, type Db, type Queryable } from '../store/db.ts';
import { createIndexVersion, getIndex } from '../store/indexes.ts';
import { assertIndexableDims } from '../store/vector-type.ts';
import { upsertResolvedModel } from '../store/models.ts';
import { lockIndexExclusive } from '../store/locks.ts';
import {
  countRows,
  dropVersion,
  findOpenReembed,
  getReembed,
  insertReembed,
  markForced,
  markVersionReady,
  pointAlias,
  swapAlias,
  transition,
  type Reembed,
} from './store.ts';

export interface StartOptions {
  index: string;
  to: ResolvedModel;
  mode: 'sync' | 'batch';
  coverage: number;
  qualityFloor: number;
  autoCutover: boolean;
  queries: { query: string; expected: string[] }[] | null;
  actor: string;
}

/** Creates the target version (its own table, model version and dims) and the reembed row, planned → backfilling. */
export async function startReembed(db: Db, o: StartOptions): Promise<Reembed> {
  const index = await getIndex(db, o.index);
  if (!index) throw new UsageError(`index ${o.index} does not exist (see \`embedq status\`)`);
  if (index.live.modelKey === o.to.key)
    throw new UsageError(`index ${o.index} already holds ${o.to.key} vectors: a reembed needs another model or another size`);
  assertIndexableDims(o.to.dims);
  const mvId = await upsertResolvedModel(db, o.to);
  const id = await withTransaction(db, async (client) => {
    // Serializes starts on one index; the partial unique index refuses a second open reembed too.
    await lockIndexExclusive(client, o.index);
    const open = await findOpenReembed(client, index.id);
    if (open) throw new UsageError(`index ${o.index} already has an open reembed (${open.id}, ${open.state}): finish it (cutover, retire, rollback or abort) first`);
    const target = await createIndexVersion(client, { indexId: index.id, name: index.name, modelVersionId: mvId, dims: o.to.dims });
    const mid = await insertReembed(
      client,
      { indexId: index.id, sourceVersionId: index.live.id, targetVersionId: target.id, mode: o.mode, coverage: o.coverage, qualityFloor: o.qualityFloor, autoCutover: o.autoCutover, queries: o.queries },
      o.actor,
      `reembed ${o.index}: ${index.live.modelKey} → ${o.to.key}`,
    );
    await transition(client, mid, 'planned', 'backfilling', o.actor, 'target created; dual-write on; backfill queued');
    return mid;
  });
  return (await getReembed(db, id))!;
}

/** Coverage = target rows / source rows (1 when both are empty). */
export async function coverage(db: Queryable, m: Pick<Reembed, 'sourceTable' | 'targetTable'>): Promise<{ source: number; target: number; ratio: number }> {
  const { source, target } = await countRows(db, m.sourceTable, m.targetTable);
  return { source, target, ratio: source === 0 ? (target === 0 ? 1 : 0) : target / source };
}

/**
 * Swaps the alias to the target in one transaction: a search resolves the alias once and then
 * reads one table with its own model, so it sees the old index or the new one, never a mix.
 */
export async function cutover(db: Db, id: string, actor: string, force: boolean): Promise<{ lockMs: number }> {
  const m = await mustGet(db, id);
  if (m.state !== 'ready' && !(force && m.state === 'validating'))
    throw new UsageError(`reembed ${id} is ${m.state}: cutover needs ready${m.state === 'validating' ? ' (or --force to override the quality gate)' : ''}`);
  return withTransaction(db, async (client) => {
    const t0 = performance.now();
    if (m.state === 'validating') {
      await transition(client, id, 'validating', 'ready', actor, 'forced past the quality gate');
      await markForced(client, id);
    }
    if (!(await swapAlias(client, m.indexId, m.sourceVersionId, m.targetVersionId))) throw new UsageError(`index ${m.indexName} no longer points at the reembed's source; nothing was changed`);
    await markVersionReady(client, m.targetVersionId);
    await transition(client, id, 'ready', 'cut_over', actor, force ? 'cutover forced' : 'quality gate passed');
    return { lockMs: performance.now() - t0 };
  });
}

/** Points the alias back at the source (kept, and dual-written, since cutover); drops the target. */
export async function rollback(db: Db, id: string, actor: string): Promise<void> {
  const m = await mustGet(db, id);
  await withTransaction(db, async (client) => {
    await transition(client, id, m.state, 'rolled_back', actor, 'rolled back to the source');
    await pointAlias(client, m.indexId, m.sourceVersionId);
    await dropVersion(client, m.targetVersionId, m.targetTable);
  });
}

/** Stops a reembed before cutover and drops the target. */
export async function abort(db: Db, id: string, actor: string, reason = 'aborted'): Promise<void> {
  const m = await mustGet(db, id);
  await withTransaction(db, async (client) => {
    await transition(client, id, m.state, 'aborted', actor, reason);
    await dropVersion(client, m.targetVersionId, m.targetTable);
  });
}

/** After cutover: drops the old index for good. */
export async function retire(db: Db, id: string, actor: string): Promise<void> {
  const m = await mustGet(db, id);
  await withTransaction(db, async (client) => {
    await transition(client, id, m.state, 'retired', actor, 'source dropped');
    await dropVersion(client, m.sourceVersionId, m.sourceTable);
  });
}

async function mustGet(db: Db, id: string): Promise<Reembed> {
  const m = await getReembed(db, id);
  if (!m) throw new UsageError(`no reembed ${id}`);
  return m;
}

