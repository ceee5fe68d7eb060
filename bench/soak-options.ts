/** The options of `npm run bench -- soak` (bench/soak.ts), shared with the process that runs it (bench/soak-run.ts). */
import { storeOption } from "./options.ts"

export const options = {
  orders: { type: "number", default: 3_000_000, min: 1_000, help: "orders placed and driven through their life" },
  "orders-per-day": { type: "number", default: 100_000, min: 100, help: "orders per day of engine time (the clock's compression)" },
  "in-flight": { type: "number", default: 4_096, min: 1, help: "commands outstanding at once" },
  "mark-every": { type: "number", default: 250_000, min: 1_000, help: "orders between two heap measurements" },
  store: storeOption
} as const
