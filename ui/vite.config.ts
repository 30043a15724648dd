import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";

// Everything is bundled into dist/: the app runs with no network at all.
export default defineConfig({
  plugins: [vue()],
  clearScreen: false,
  build: {
    target: "es2021",
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
