/** Vitest global setup: builds the dashboard page when its build is missing or stale, so tests serve the current page. */
import { buildDashboard } from "../build.ts"

export default async function setup(): Promise<void> {
  await buildDashboard()
}
