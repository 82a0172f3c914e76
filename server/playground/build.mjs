// Builds the playground bundle that server/playground embeds:
//   node build.mjs        (or `make playground` from the repository root)
// Inputs: the pinned npm packages (package-lock.json), src/, and the
// ```graphql blocks of the guides in docs/, which become one tab each.
// Output: dist/, gzip-compressed, no source maps. The build is
// deterministic: the same inputs give the same bytes, so CI can rebuild
// and compare.
import { readFileSync, writeFileSync, rmSync, mkdirSync, readdirSync } from 'node:fs';
import { gzipSync, constants } from 'node:zlib';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { Kind, buildSchema, parse, print, validate } from 'graphql';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const dist = join(here, 'dist');
const out = join(here, 'build');

// The guides, in the order a newcomer reads them.
const guides = ['getting-started', 'catalog', 'checkout', 'booking', 'authentication', 'api-conventions', 'integrations', 'operations'];

function tabsFromDocs() {
  const schema = buildSchema(readFileSync(join(root, 'schema.graphqls'), 'utf8'));
  const tabs = [
    {
      query: readFileSync(join(here, 'src', 'welcome.graphql'), 'utf8'),
      variables: '{}',
      headers: '{}',
    },
  ];
  let problems = 0;
  for (const guide of guides) {
    const md = readFileSync(join(root, 'docs', guide + '.md'), 'utf8');
    const defs = new Map();
    for (const [, block] of md.matchAll(/```graphql\n([\s\S]*?)```/g)) {
      let doc;
      try {
        doc = parse(block);
      } catch {
        continue; // schema excerpts and sketches with "…" are not operations
      }
      if (!doc.definitions.every((d) => d.kind === Kind.OPERATION_DEFINITION || d.kind === Kind.FRAGMENT_DEFINITION)) continue;
      for (let d of doc.definitions) {
        if (!d.name) {
          // One document may hold one anonymous operation only: name the
          // guide's unnamed examples after the guide.
          const value = guide.replace(/(^|-)(\w)/g, (_, __, c) => c.toUpperCase()) + 'Example' + (defs.size + 1);
          d = { ...d, name: { kind: Kind.NAME, value } };
        }
        if (!defs.has(d.name.value)) defs.set(d.name.value, d);
      }
    }
    if (defs.size === 0) continue;
    const doc = { kind: Kind.DOCUMENT, definitions: [...defs.values()] };
    for (const err of validate(schema, doc)) {
      if (err.message.includes('is never used')) continue;
      problems++;
      console.warn(`docs/${guide}.md: ${err.message}`);
    }
    const ops = [...defs.values()].filter((d) => d.kind === Kind.OPERATION_DEFINITION).length;
    tabs.push({
      query: `# The ${ops} operations of docs/${guide}.md. Pick one with the run button's menu;\n# variables go in the Variables editor below, credentials in Headers.\n\n` + print(doc) + '\n',
      variables: '{}',
      headers: '{}',
    });
  }
  if (problems > 0) {
    throw new Error(`${problems} operation(s) in docs/ do not validate against schema.graphqls`);
  }
  return tabs;
}

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'tabs.json'), JSON.stringify(tabsFromDocs(), null, 1));

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
  alias: { 'playground-tabs': './build/tabs.json' },
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
  if (name === 'tabs.json') continue;
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
