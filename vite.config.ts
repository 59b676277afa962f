import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { VitePWA } from 'vite-plugin-pwa';

// The same isolation headers as scripts/serve.mjs, so dev and preview behave like production
// (crossOriginIsolated is what lets the WASM backend use threads).
const isolationHeaders = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

// The one origin the backbone catalog downloads from (src/lib/ml/backbone-catalog.ts). Fixed at
// build time so the CSP can name exactly it; tests build with a local server's origin instead.
const CATALOG_ORIGIN = new URL(process.env.TRAINYARD_CATALOG_ORIGIN || 'https://storage.googleapis.com').origin;
if (!/^https?:\/\/(([a-z0-9-]+\.)*[a-z0-9-]+|\[[0-9a-f:.]+\])(:\d+)?$/i.test(CATALOG_ORIGIN)) {
  throw new Error(`TRAINYARD_CATALOG_ORIGIN must be one plain http(s) origin, not ${CATALOG_ORIGIN}.`);
}

export default defineConfig({
  define: { __TRAINYARD_CATALOG_ORIGIN__: JSON.stringify(CATALOG_ORIGIN) },
  plugins: [
    svelte(),
    {
      // scripts/serve.mjs reads this to put the same origin in the CSP's connect-src.
      name: 'trainyard-catalog-origin',
      generateBundle() {
        this.emitFile({ type: 'asset', fileName: 'catalog-origin.txt', source: CATALOG_ORIGIN + '\n' });
      },
    },
    VitePWA({
      registerType: 'prompt',
      // Registered from src/state/app-update.svelte.ts: no inline script (the CSP forbids one).
      injectRegister: false,
      includeAssets: ['icons/*.png', 'icons/*.svg', 'demo/digits.zip', 'demo/digits.json'],
      manifest: {
        name: 'Trainyard',
        short_name: 'Trainyard',
        description: 'Label, train, tune, deploy and monitor image classifiers in one browser tab. Nothing is uploaded.',
        theme_color: '#1d3557',
        background_color: '#f6f7f9',
        display: 'standalone',
        start_url: '/',
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,wasm,png,svg,ico,webmanifest,zip,json}'],
        // Worker chunks with TF.js and the demo data are larger than Workbox's 2 MiB default;
        // scripts/check-precache.mjs fails the build if anything is still left out.
        maximumFileSizeToCacheInBytes: 32 * 1024 * 1024,
        navigateFallback: 'index.html',
        // A missing asset must be a 404, never the app's HTML.
        navigateFallbackDenylist: [/^\/assets\//, /\.[a-z0-9]+$/i],
        cleanupOutdatedCaches: true,
      },
    }),
  ],
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: false },
  server: { headers: isolationHeaders },
  preview: { headers: isolationHeaders },
});
