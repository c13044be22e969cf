/** The problems a config is refused with, one string each (none: it parses). */
import { parseConfig } from '../../src/config/schema.ts';
import { ConfigError } from '../../src/errors.ts';

export function configProblems(raw: unknown): string[] {
  try {
    parseConfig(raw);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}
