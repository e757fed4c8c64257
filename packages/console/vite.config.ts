import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

/**
 * The console is served by the gateway under /console/ (services/gateway/src/http/console.ts).
 * The CLI's pure apply modules and the API's zod contracts are compiled from their sources
 * (aliases below), so the browser checks YAML exactly as `pragma resources apply` does.
 */
export default defineConfig({
  base: "/console/",
  plugins: [react()],
  resolve: {
    alias: {
      "@pragma/contracts": here("../contracts/src/index.ts"),
      "@pragma/cli-src": here("../cli/src"),
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    // The CSP allows no inline script: keep Vite from injecting its preload polyfill inline.
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
