import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';

/**
 * The package root: the folder holding package.json and migrations/. This file sits at
 * `src/paths.ts` in a checkout and at `dist/src/paths.js` in an installed package.
 */
const here = dirname(fileURLToPath(import.meta.url));
export const packageRoot: string = here.endsWith(join('dist', 'src')) ? join(here, '..', '..') : join(here, '..');

export const migrationsDir: string = join(packageRoot, 'migrations');

export const packageVersion: string = (
  JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }
).version;
