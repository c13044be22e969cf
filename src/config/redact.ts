/**
 * Secrets out of text. {@link redactUrl} for a URL we hold, {@link redactUrls} for any message
 * that may quote one (config errors, CLI errors, ledger errors, job failure reasons, logs): the
 * password of every `scheme://user:password@…`, even a malformed one, and the values of
 * secret-looking query parameters (`?password=`, `?token=`, `?api_key=`) become `***`.
 */

/** Query parameters whose values are secrets. */
const SECRET_PARAM = /^(pass(word)?|pwd|sslpassword|secret|token|access_token|api[-_]?key|key|auth|sig(nature)?)$/i;

/** Removes the password from a connection URL: `redis://:secret@host` → `redis://:***@host`. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    for (const k of [...u.searchParams.keys()]) if (SECRET_PARAM.test(k)) u.searchParams.set(k, '***');
    return u.toString().replace(/\/$/, u.pathname === '/' && !url.endsWith('/') ? '' : '/').replaceAll('%2A%2A%2A', '***');
  } catch {
    return redactUrls(url);
  }
}

/** A URL inside free text: a scheme, `://`, and everything up to whitespace, a quote or a bracket. */
const URL_IN_TEXT = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s"'<>`]*)/gi;

/** {@link redactUrl} for every URL in `text`, without re-writing anything else (malformed URLs included). */
export function redactUrls(text: string): string {
  return text.replace(URL_IN_TEXT, (_m, scheme: string, rest: string) => scheme + redactRest(rest));
}

function redactRest(rest: string): string {
  // The userinfo ends at the last '@' of the authority; a password with an unencoded '/' pushes
  // the '@' past it, so a ':' before the first '@' also counts.
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  let at = authority.lastIndexOf('@');
  if (at < 0 && rest.indexOf('@') > 0 && rest.slice(0, rest.indexOf('@')).includes(':')) at = rest.indexOf('@');
  let out = rest;
  if (at >= 0) {
    const userinfo = rest.slice(0, at);
    const colon = userinfo.indexOf(':');
    if (colon >= 0) out = `${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
  }
  return out.replace(/([?&;])([^=&#\s]+)=([^&#\s]*)/g, (m, sep: string, k: string) => (SECRET_PARAM.test(k) ? `${sep}${k}=***` : m));
}

/** Redacts an error's message and stack in place (what BullMQ stores as failedReason and stacktrace), and returns it. */
export function redactError<E>(e: E): E {
  if (e instanceof Error) {
    e.message = redactUrls(e.message);
    if (e.stack) e.stack = redactUrls(e.stack);
  }
  return e;
}

/** Shows only the last 4 characters of a secret: `sk-…abcd`. Never returns the secret itself. */
export function maskSecret(secret: string | undefined): string | null {
  if (!secret) return null;
  return secret.length <= 8 ? '***' : `***${secret.slice(-4)}`;
}
