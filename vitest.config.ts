import { defineConfig } from "vitest/config"

/**
 * Two groups, run one after the other: everything else first, files in
 * parallel; then the cluster tests, one file at a time. Those start several
 * runner processes each, whose shard leases expire if the runners are starved
 * of CPU by other test files on a 2-core machine.
 */
const cluster = ["engine/cluster/**/*.test.ts", "gateway/cluster-gateway.test.ts", "gateway/cluster-legs.test.ts", "gateway/cluster-ops.test.ts"]

export default defineConfig({
  test: {
    reporters: ["default", ["json", { outputFile: "test-results/vitest.json" }]],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: "main",
          include: [
            "engine/**/*.test.ts",
            "gateway/**/*.test.ts",
            "simulator/**/*.test.ts",
            "bench/**/*.test.ts",
            "dashboard/src/**/*.test.ts",
            "dashboard/e2e/**/*.test.ts"
          ],
          exclude: cluster,
          globalSetup: ["dashboard/e2e/build-setup.ts"],
          sequence: { groupOrder: 0 }
        }
      },
      {
        extends: true,
        test: {
          name: "cluster",
          include: cluster,
          globalSetup: ["dashboard/e2e/build-setup.ts"],
          fileParallelism: false,
          sequence: { groupOrder: 1 }
        }
      }
    ]
  }
})
