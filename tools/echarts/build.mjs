// Builds ../../web/static/echarts.min.js from entry.js, and its brotli form
// echarts.min.js.br (the server sends it to browsers that accept br; Go has
// no brotli encoder): npm ci && npm run build. esbuild bundles and
// tree-shakes; terser (two compress passes) minifies, about 5 % smaller
// after brotli than esbuild's own minifier. Both files are committed, so
// `make run` needs no npm. docs/dashboard.md.
import { build } from 'esbuild';
import { minify } from 'terser';
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';

const out = '../../web/static/echarts.min.js';
const version = JSON.parse(readFileSync('node_modules/echarts/package.json', 'utf8')).version;
const bundle = await build({
  entryPoints: ['entry.js'],
  bundle: true,
  write: false,
  format: 'iife',
  target: 'es2019',
  legalComments: 'none',
  define: { 'process.env.NODE_ENV': '"production"' },
});
const min = await minify(bundle.outputFiles[0].text, {
  compress: { passes: 2 },
  mangle: true,
  format: { comments: false, preamble: `/*! Apache ECharts ${version} (bar, grid, canvas) | Apache-2.0, see tools/echarts/LICENSE and NOTICE */` },
});
writeFileSync(out, min.code);
const js = Buffer.from(min.code);
const br = brotliCompressSync(js, { params: {
  [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  [constants.BROTLI_PARAM_QUALITY]: 11,
  [constants.BROTLI_PARAM_LGWIN]: 24,
  [constants.BROTLI_PARAM_SIZE_HINT]: js.length,
} });
writeFileSync(out + '.br', br);
console.log(`echarts.min.js ${js.length} bytes, brotli ${br.length}`);
