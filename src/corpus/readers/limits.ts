/** Reader limits and the wording of rejections shared by every reader. */

/** Largest text/Markdown file read as one document: 50 MiB. */
export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;
/** Largest JSONL line or CSV record: 8 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 8 * 1024 * 1024;

/** A size for a reason: `"9.0 MB"` (MiB), `"2.5 KB"` (KiB) or `"12 bytes"`. */
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/** A short reason for a failed file system call: "not found", "permission denied", … */
export function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'not found';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'symbolic link loop';
    case 'ENOTDIR':
      return 'not found (a parent is not a directory)';
    case 'EISDIR':
      return 'is a directory';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    default:
      return e instanceof Error ? e.message : String(e);
  }
}
