// Builds the console UI into dist/: main.js and main.css bundled and
// minified by esbuild from src/main.js, plus index.html, each stored only
// gzip-compressed (name.gz). The Go package console embeds dist/ with
// go:embed and sends the compressed form to clients that accept it.
//
//   node build.mjs            one minified build, prints the sizes
//   node build.mjs --watch    rebuild on every change (unminified, with source maps)

import * as esbuild from 'esbuild';
import { copyFile, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(fileURLToPath(import.meta.url));
const dist = join(root, 'dist');
const watch = process.argv.includes('--watch');

// Removes the previous build but keeps dist/.keep, which go:embed needs.
async function clean() {
  await mkdir(dist, { recursive: true });
  for (const name of await readdir(dist)) {
    if (name !== '.keep') await rm(join(dist, name), { recursive: true, force: true });
  }
}

async function report() {
  let raw = 0, gz = 0;
  const rows = [];
  for (const name of (await readdir(dist)).sort()) {
    if (name === '.keep' || name.endsWith('.map')) continue;
    const data = await readFile(join(dist, name));
    const z = gzipSync(data, { level: 9 }).length;
    raw += data.length;
    gz += z;
    rows.push(`  ${name.padEnd(14)} ${(data.length / 1024).toFixed(1).padStart(8)} KiB ${(z / 1024).toFixed(1).padStart(8)} KiB gzip`);
  }
  rows.push(`  ${'total'.padEnd(14)} ${(raw / 1024).toFixed(1).padStart(8)} KiB ${(gz / 1024).toFixed(1).padStart(8)} KiB gzip`);
  console.log('dist/\n' + rows.join('\n'));
}

const copyHTML = {
  name: 'copy-html',
  setup(build) {
    build.onEnd(async (result) => {
      if (result.errors.length) return;
      await copyFile(join(root, 'index.html'), join(dist, 'index.html'));
      if (watch) console.log(`[${new Date().toLocaleTimeString()}] rebuilt dist/`);
    });
  },
};

const options = {
  absWorkingDir: root,
  entryPoints: ['src/main.js'],
  bundle: true,
  outdir: 'dist',
  format: 'esm',
  target: 'es2020',
  minify: !watch,
  sourcemap: watch ? 'linked' : false,
  legalComments: 'none',
  charset: 'utf8',
  logLevel: 'warning',
  plugins: [copyHTML],
};

// Replaces every built file by its gzip form (name.gz): the binary embeds
// only that, and the console decompresses it for the rare client without
// gzip. Saves ~0.4 MiB of binary.
async function compressAll() {
  for (const name of await readdir(dist)) {
    if (name === '.keep' || name.endsWith('.gz') || name.endsWith('.map')) continue;
    const file = join(dist, name);
    await writeFile(file + '.gz', gzipSync(await readFile(file), { level: 9 }));
    await rm(file);
  }
}

await clean();
if (watch) {
  const ctx = await esbuild.context(options);
  await ctx.watch();
  console.log('watching src/ and index.html for changes (Ctrl+C to stop)');
} else {
  await esbuild.build(options);
  await report();
  await compressAll();
}
