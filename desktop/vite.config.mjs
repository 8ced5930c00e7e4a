// Builds the renderer (React) into dist/app/renderer, served at app://depotline/ by the main
// process and over loopback by the e2e test host. Nothing is inlined as data: URLs (the CSP
// allows images only from 'self'), no source maps ship, no module-preload polyfill (it would be
// an inline script the CSP refuses).
import path from 'node:path';
import { defineConfig } from 'vite';

const here = import.meta.dirname;

export default defineConfig({
  root: path.join(here, 'src/renderer'),
  base: './',
  logLevel: 'warn',
  clearScreen: false,
  publicDir: false,
  build: {
    outDir: path.join(here, 'dist/app/renderer'),
    emptyOutDir: true,
    target: 'chrome130',
    sourcemap: false,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
  },
});
