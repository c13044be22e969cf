/**
 * The published package really runs: the sources are built and packed the way `npm publish`
 * would (`npm pack`, files from package.json), the tarball is installed into a fresh project,
 * and README's programmatic example, taken from README.md as it stands, runs there against
 * the test services and prints what README says it prints. The installed types are checked
 * with tsc on a small TypeScript file that uses them (and one line that must not compile).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { inject } from 'vitest';
import { dropNamespace, expect, test, uniqueName } from '../support/fixtures.ts';

const ROOT = join(import.meta.dirname, '..', '..');
// npm as scripts/test.sh found it on PATH, run by this Node (first on PATH).
const PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ''}`;
const npm = (args: string[], cwd: string): string => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', env: { ...process.env, PATH } });

/** README's example and the output it promises, between the api-example marker and "It prints:". */
function readmeExample(): { code: string; prints: string } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- api-example[^>]*-->\s*```js\n([\s\S]*?)```\s*It prints:\s*```\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('README.md has no api-example block followed by "It prints:"');
  return { code: m[1]!, prints: m[2]! };
}

test('npm pack → npm install in a fresh project → README\'s example runs and prints what README says; the types check', async () => {
  const work = mkdtempSync(join(tmpdir(), 'embedq-pack-'));
  try {
    await packInstallRun(work);
  } finally {
    // The installed project is about 250 MB.
    rmSync(work, { recursive: true, force: true });
  }
}, 300_000); // a safety net for a loaded machine (a build, a pack and an install), not a bound

async function packInstallRun(work: string): Promise<void> {
  // Build in a copy, so the checkout's own dist/ is not touched while other tests run.
  const pkg = join(work, 'pkg');
  mkdirSync(pkg);
  for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'bin', 'migrations', 'src', 'jobs', 'workers']) cpSync(join(ROOT, f), join(pkg, f), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: pkg, encoding: 'utf8' });
  const tarball = join(work, npm(['pack', '--ignore-scripts', '--pack-destination', work, '--silent'], pkg).trim().split('\n').pop()!);

  const app = join(work, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // The dependencies come from the npm cache that `npm ci` filled (the registry where it misses).
  npm(['install', '--prefer-offline', tarball], app);

  const { code, prints } = readmeExample();
  writeFileSync(join(app, 'example.mjs'), code);
  const { redisUrl, databaseUrl } = inject('services');
  const ns = uniqueName('t');
  try {
    const out = execFileSync(process.execPath, ['example.mjs'], {
      cwd: app,
      encoding: 'utf8',
      env: { PATH, HOME: process.env.HOME ?? '', DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, EMBEDQ_DB_SCHEMA: ns, EMBEDQ_REDIS_PREFIX: ns, EMBEDQ_LOG_LEVEL: 'silent' },
    });
    console.log(`README's example, run from the installed tarball, printed:\n${out}`);
    expect(out).toBe(prints);
  } finally {
    await dropNamespace(ns);
  }

  // The types: a correct call compiles, a wrong option does not (the @ts-expect-error must be used).
  writeFileSync(
    join(app, 'check.ts'),
    `import { createEmbedq, type SearchHit } from 'embedq';
const eq = createEmbedq({ config: { defaultTenant: 'acme' } });
const hits: SearchHit[] = (await eq.search('q', { index: 'kb', k: 3, filter: { lang: 'en' } })).hits;
// @ts-expect-error k is a number
await eq.search('q', { index: 'kb', k: 'three' });
export { hits };
`,
  );
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['check.ts'] }));
  execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
}
