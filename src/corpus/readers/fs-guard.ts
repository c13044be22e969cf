/**
 * What the readers never touch: pseudo-filesystems (/proc, /sys, /dev and kernel file systems
 * mounted anywhere else) and anything that is not a regular file (opening a FIFO blocks for
 * ever; a device can be endless). Checked on real paths, so no link leads around it.
 */
import type { Stats } from 'node:fs';
import { realpath, stat, statfs } from 'node:fs/promises';
import { sep } from 'node:path';
import { describeFsError } from './limits.ts';

/** Trees never read, whatever the file system reports (devtmpfs reports itself as tmpfs). */
export const PSEUDO_ROOTS: readonly string[] = ['/proc', '/sys', '/dev'];

/** Linux `statfs` magic numbers of kernel pseudo-filesystems, by name. */
const PSEUDO_FS_TYPES: ReadonlyMap<number, string> = new Map([
  [0x9fa0, 'proc'],
  [0x62656572, 'sysfs'],
  [0x1cd1, 'devpts'],
  [0x64626720, 'debugfs'],
  [0x74726163, 'tracefs'],
  [0x73636673, 'securityfs'],
  [0x27e0eb, 'cgroup'],
  [0x63677270, 'cgroup2'],
  [0xcafe4a11, 'bpf'],
  [0x62656570, 'configfs'],
  [0x6165676c, 'pstore'],
  [0xde5e81e4, 'efivarfs'],
  [0xf97cff8c, 'selinuxfs'],
  [0x43415d53, 'smackfs'],
  [0x42494e4d, 'binfmt_misc'],
  [0x65735543, 'fusectl'],
  [0x19800202, 'mqueue'],
  [0x6e736673, 'nsfs'],
]);

/**
 * Why `real` (a path with every link resolved) must not be read, or undefined. A path under
 * {@link PSEUDO_ROOTS} is refused by name; elsewhere, on Linux, by the type its file system
 * reports. `statfs` is only asked for directories (`checkType`), where a mount point can begin.
 */
export async function pseudoFilesystem(real: string, checkType = true): Promise<string | undefined> {
  const top = PSEUDO_ROOTS.find((r) => real === r || real.startsWith(r + sep));
  if (top) return `under ${top}, a pseudo-filesystem: embedq never reads /proc, /sys or /dev`;
  if (!checkType || process.platform !== 'linux') return undefined;
  try {
    const name = PSEUDO_FS_TYPES.get(Number((await statfs(real)).type));
    return name ? `on a ${name} pseudo-filesystem: embedq never reads kernel file systems` : undefined;
  } catch {
    return undefined; // the read that follows reports what is wrong with the path
  }
}

/** What a non-regular file is, for a rejection: "a FIFO (named pipe)", "a socket", … */
export function specialKind(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

/** The real path behind `path` (every link resolved) and what is there; throws as realpath/stat do. */
export async function realStat(path: string): Promise<{ real: string; st: Stats }> {
  const real = await realpath(path);
  return { real, st: await stat(real) };
}

/** The rejection reason for a non-regular file, never opened. */
export function notRegular(st: Stats, via = ''): string {
  return `${via}${specialKind(st)}, not a regular file: not read`;
}

/**
 * Why a planned file must not be opened now, or undefined: checked again just before reading,
 * because the tree may have changed since it was walked (a file replaced by a FIFO or by a link
 * into /proc).
 */
export async function unreadable(path: string): Promise<string | undefined> {
  let real: string;
  let st: Stats;
  try {
    ({ real, st } = await realStat(path));
  } catch (e) {
    return describeFsError(e);
  }
  const pseudo = await pseudoFilesystem(real);
  if (pseudo) return pseudo;
  return st.isFile() ? undefined : notRegular(st);
}
