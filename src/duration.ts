/** Durations as people write them in flags and API fields: a whole number and a unit (`30s`, `15m`, `24h`, `30d`). */

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export type DurationUnit = keyof typeof UNIT_MS;

/**
 * Milliseconds of `text`, or undefined when it is not a whole number (positive unless
 * `allowZero`) and one of `units`, exactly (no spaces).
 * @example parseDuration('24h') // 86_400_000
 */
export function parseDuration(text: string, units: readonly DurationUnit[] = ['s', 'm', 'h', 'd'], opts: { allowZero?: boolean } = {}): number | undefined {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m || (Number(m[1]) === 0 && !opts.allowZero) || !units.includes(m[2] as DurationUnit)) return undefined;
  return Number(m[1]) * UNIT_MS[m[2] as DurationUnit];
}
