// Builds the web console (console/) into dist/console/, served by Echonet at /console/
// (src/http/console.ts). No inline script or style anywhere: the page's CSP allows none.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  publicDir: 'public',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console/', import.meta.url)),
    emptyOutDir: true,
    // src/http/console.ts recognises a build by its manifest.
    manifest: true,
    // Always files, never data: URLs inlined into the CSS or script (the CSP allows 'self').
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    target: 'es2022',
    sourcemap: false,
  },
});
