/**
 * Adopts documents an older embedq stored under other ids (relative to the cwd of that run, the
 * absolute path, a record id not scoped by its file): a page's documents find theirs by source
 * and take them over in place, so an existing index keeps its vectors, and copies left by
 * ingesting from several directories are removed. One lookup per page; writes only when found.
 */
import { legacyDocIds } from '../corpus/readers/doc-id.ts';
import type { SourceDoc } from '../corpus/readers/types.ts';
import { deleteDocuments } from '../store/chunks.ts';
import type { Db } from '../store/db.ts';
import { withTransaction } from '../store/db.ts';
import { findLegacyDocuments, renameDocuments } from '../store/documents.ts';
import type { IndexInfo } from '../store/indexes.ts';
import { writeTargets } from '../reembed/store.ts';
import { lockIndexShared } from '../store/locks.ts';

/** Returns how many stored documents were renamed or (as duplicates) removed. */
export async function adoptLegacyIds(db: Db, index: IndexInfo, tenant: string, docs: SourceDoc[]): Promise<number> {
  const seen = new Set<string>();
  const candidates = docs.flatMap((d) =>
    legacyDocIds(d)
      .filter((oldId) => !seen.has(oldId) && (seen.add(oldId), true))
      .map((oldId) => ({ oldId, source: d.source, newId: d.docId })),
  );
  const found = await findLegacyDocuments(db, index.id, tenant, candidates);
  if (found.length === 0) return 0;
  const byNew = new Map<string, { olds: string[]; newStored: boolean }>();
  for (const f of found) {
    const e = byNew.get(f.newId) ?? { olds: [], newStored: f.newStored };
    e.olds.push(f.oldId);
    byNew.set(f.newId, e);
  }
  const renames: { oldId: string; newId: string }[] = [];
  const drops: string[] = [];
  for (const [newId, { olds, newStored }] of byNew) {
    olds.sort();
    if (newStored) drops.push(...olds);
    else {
      renames.push({ oldId: olds[0]!, newId });
      drops.push(...olds.slice(1));
    }
  }
  await withTransaction(db, async (client) => {
    await lockIndexShared(client, index.name);
    const targets = await writeTargets(client, index.id);
    await deleteDocuments(client, index.id, tenant, drops, targets.map((t) => t.tableName));
    await renameDocuments(client, index.id, tenant, renames);
  });
  return found.length;
}
