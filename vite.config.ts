import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The UI lives in ui/; the Tauri CLI runs from the repository root.
export default defineConfig({
  root: "ui",
  plugins: [svelte()],
  clearScreen: false,
  server: { port: 5173, strictPort: true, host: "127.0.0.1" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "safari15",
    // Keep assets as files: the CSP forbids inline data for scripts.
    assetsInlineLimit: 0,
  },
  test: {
    root: ".",
    include: ["ui/src/**/*.test.ts", "ui/apps-sdk/**/*.test.ts", "ui/apps/**/*.test.ts"],
    environment: "node",
  },
});
