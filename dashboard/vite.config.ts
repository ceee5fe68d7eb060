/**
 * Vite build of the ops dashboard: dashboard/index.html and dashboard/src
 * into dashboard/dist, served by the gateway at /dashboard/ (hence the base).
 */
import { fileURLToPath } from "node:url"
import { defineConfig } from "vite"

export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  base: "/dashboard/",
  logLevel: "warn",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1024
  }
})
