import { defineConfig } from 'vite';

// The web app (console and portal). React's JSX through esbuild's automatic runtime (no plugin:
// the service serves the built files; there is no dev-server hot reload to support). Charts are
// split into their own chunk, loaded only by the pages that draw one, so the first load stays small.
export default defineConfig({
  root: new URL('.', import.meta.url).pathname,
  base: '/',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      // Mantine marks its modules "use client" for React Server Components; a browser bundle has
      // no server components, so the directive means nothing here and its warning is noise.
      onwarn(warning, warn) {
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE') return;
        warn(warning);
      },
    },
  },
});
