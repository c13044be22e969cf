/** Removes the password from a connection URL: `redis://:secret@host` → `redis://:***@host`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(/\/$/, u.pathname === '/' && !url.endsWith('/') ? '' : '/');
  } catch {
    return url.replace(/(\/\/[^:/@]*):[^@]*@/, '$1:***@');
  }
}

/** Shows only the last 4 characters of a secret: `sk-…abcd`. Never returns the secret itself. */
export function maskSecret(secret: string | undefined): string | null {
  if (!secret) return null;
  return secret.length <= 8 ? '***' : `***${secret.slice(-4)}`;
}
