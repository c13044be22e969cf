/** How strong a configured secret (admin or metrics token) must be. */

/** Bits a token must carry: as many as 16 distinct characters each used once (16 × 4 bits). */
export const MIN_SECRET_BITS = 64;

/**
 * The token's length times the Shannon entropy of its characters, in bits: 16 spaces carry 0,
 * `aaaaaaaaaaaaaaab` about 5.4, 16 distinct characters 64, `openssl rand -hex 24` about 180.
 * A lower bound for nothing in particular, but it refuses the obviously guessable.
 */
export function entropyBits(secret: string): number {
  const chars = [...secret];
  const counts = new Map<string, number>();
  for (const ch of chars) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  let perChar = 0;
  for (const n of counts.values()) perChar -= (n / chars.length) * Math.log2(n / chars.length);
  return perChar * chars.length;
}

/** True for a secret long and varied enough to guard `embedq serve`. */
export function strongSecret(secret: string): boolean {
  return [...secret].length >= 16 && entropyBits(secret) >= MIN_SECRET_BITS - 1e-9;
}
