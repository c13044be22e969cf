/** Field shapes the config schemas share: URLs, provider base URLs, positive integers. */
import { z } from 'zod';

export const url = (schemes: string[]) =>
  z.string().refine((v) => {
    try {
      return schemes.includes(new URL(v).protocol.replace(/:$/, ''));
    } catch {
      return false;
    }
  }, `a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`);

/**
 * A provider base URL: never with `user:password@`. The SDKs cannot send it (fetch refuses such
 * URLs), so it never worked, and every error quoted the password.
 */
export const baseUrl = (keyVar: string) =>
  url(['http', 'https']).refine((v) => {
    const u = new URL(v);
    return !u.username && !u.password;
  }, `a URL without user:password@ (give the key in ${keyVar}; it is sent as a bearer token)`);

export const positiveInt = z.coerce.number().int().positive();
