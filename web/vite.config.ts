import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The staff web app: static files (web/dist) that the embedded gateway serves at `/` and the CDK
 * stack puts on S3 behind CloudFront. Relative asset paths, so the same build works under any path;
 * no source maps, nothing fetched from another origin at run time.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
});
