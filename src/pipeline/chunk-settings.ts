/** How a new index chunks: the one clamp of the asked-for settings to the model's limits. */

export interface ChunkSettings {
  tokens: number;
  overlap: number;
}

/**
 * The chunk size and overlap a new index gets: what was asked for, else the configured default;
 * the size at most the model's input limit, the overlap at most half the size.
 *
 * @example chunkSettings({ tokens: 1000 }, { tokens: 512, overlap: 64 }, 512) // { tokens: 512, overlap: 64 }
 */
export function chunkSettings(asked: { chunkTokens?: number | undefined; chunkOverlap?: number | undefined }, defaults: ChunkSettings, maxInputTokens: number): ChunkSettings {
  const tokens = Math.min(asked.chunkTokens ?? defaults.tokens, maxInputTokens);
  return { tokens, overlap: Math.min(asked.chunkOverlap ?? defaults.overlap, Math.floor(tokens / 2)) };
}
