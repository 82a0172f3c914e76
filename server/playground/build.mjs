// Builds the playground bundle that server/playground embeds:
//   node build.mjs        (or `make playground` from the repository root)
// Inputs: the pinned npm packages (package-lock.json) and src/. (The tabs
// with the guides' operations are made by the Go server from docs/.)
// Output: dist/, gzip-compressed, no source maps. The build is
// deterministic: the same inputs give the same bytes, so CI can rebuild
// and compare.
import { readFileSync, writeFileSync, rmSync, mkdirSync, readdirSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, 'dist');
const out = join(here, 'build');

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  target: ['chrome120', 'firefox120', 'safari17'],
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
  absWorkingDir: here,
};

await esbuild.build({
  ...common,
  entryPoints: { main: 'src/main.jsx' },
  format: 'iife',
  jsx: 'automatic',
  outdir: out,
  loader: { '.ttf': 'file' },
  assetNames: '[name]',
});

await esbuild.build({
  ...common,
  entryPoints: {
    'editor.worker': 'monaco-editor/esm/vs/editor/editor.worker.js',
    'json.worker': 'monaco-editor/esm/vs/language/json/json.worker.js',
    'graphql.worker': 'monaco-graphql/esm/graphql.worker.js',
  },
  format: 'iife',
  outdir: out,
});

// dist/ holds what the binary serves: each asset gzip-compressed (the Go
// handler decompresses for the rare client without gzip), plus the page.
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
let total = 0;
for (const name of readdirSync(out).sort()) {
  const gz = gzipSync(readFileSync(join(out, name)), { level: constants.Z_BEST_COMPRESSION });
  writeFileSync(join(dist, name + '.gz'), gz);
  total += gz.length;
  console.log(`dist/${name}.gz ${(gz.length / 1024).toFixed(0)} KiB`);
}
for (const name of ['index.html', 'favicon.ico']) {
  writeFileSync(join(dist, name), readFileSync(join(here, 'src', name)));
}
console.log(`total ${(total / 1024).toFixed(0)} KiB compressed`);
rmSync(out, { recursive: true, force: true });
