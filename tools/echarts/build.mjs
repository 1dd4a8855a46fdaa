// Builds ../../web/static/echarts.min.js from entry.js, and its brotli form
// echarts.min.js.br (the server sends it to browsers that accept br; Go has
// no brotli encoder): npm ci && npm run build. Both files are committed,
// so `make run` needs no npm. docs/dashboard.md.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { brotliCompressSync, constants } from 'node:zlib';

const out = '../../web/static/echarts.min.js';
await build({
  entryPoints: ['entry.js'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: 'es2019',
  legalComments: 'eof',
  define: { 'process.env.NODE_ENV': '"production"' },
  outfile: out,
});
const js = readFileSync(out);
const br = brotliCompressSync(js, { params: {
  [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
  [constants.BROTLI_PARAM_QUALITY]: 11,
  [constants.BROTLI_PARAM_LGWIN]: 24,
  [constants.BROTLI_PARAM_SIZE_HINT]: js.length,
} });
writeFileSync(out + '.br', br);
console.log(`echarts.min.js ${js.length} bytes, brotli ${br.length}`);
