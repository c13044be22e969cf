import { expect, test } from 'vitest';
import { chunkSettings } from '../../src/pipeline/chunk-settings.ts';

const defaults = { tokens: 512, overlap: 64 };

test('chunkSettings takes what was asked, else the configured default', () => {
  expect(chunkSettings({}, defaults, 8191)).toEqual({ tokens: 512, overlap: 64 });
  expect(chunkSettings({ chunkTokens: 200, chunkOverlap: 10 }, defaults, 8191)).toEqual({ tokens: 200, overlap: 10 });
});

test('chunkSettings keeps the size within the model limit and the overlap within half the size', () => {
  expect(chunkSettings({ chunkTokens: 1000 }, defaults, 512)).toEqual({ tokens: 512, overlap: 64 });
  expect(chunkSettings({ chunkTokens: 100 }, defaults, 8191)).toEqual({ tokens: 100, overlap: 50 });
  expect(chunkSettings({ chunkTokens: 7, chunkOverlap: 6 }, defaults, 8191)).toEqual({ tokens: 7, overlap: 3 });
});
