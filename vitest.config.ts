import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: [
      "engine/**/*.test.ts",
      "gateway/**/*.test.ts",
      "simulator/**/*.test.ts",
      "bench/**/*.test.ts",
      "dashboard/src/**/*.test.ts",
      "dashboard/e2e/**/*.test.ts"
    ],
    globalSetup: ["dashboard/e2e/build-setup.ts"],
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
