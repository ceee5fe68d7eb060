/**
 * Concurrent storefronts racing for the last units of a SKU over real
 * sockets: 20 WS connections (two channels) fire 200 hold requests at once for
 * a pool of 37 units. Exactly the stock is sold - the successful quantities
 * add up to 37 - and every other request is refused with insufficient_stock.
 */
import { afterAll, beforeAll, expect, it } from "vitest"
import { FrameClient, keys, startTestGateway, type TestGateway } from "./testing/harness.ts"

let t: TestGateway
const stock = 37

beforeAll(async () => {
  // no channel share limit: the race is for the whole pool (gateway/holds-api.test.ts tests the limit)
  t = await startTestGateway({ stock: [["SOUNDBAR", "WH-COL", stock]], engine: { holdChannelSharePercentMax: 100 } })
})
afterAll(() => t.close())

it("sells exactly the stock to racing storefronts; the rest get insufficient_stock", async () => {
  const clients = await Promise.all(Array.from({ length: 20 }, (_, i) => FrameClient.open(`${t.wsUrl}?key=${i % 2 === 0 ? keys.web : keys.marketplace}`)))
  const replies = await Promise.all(
    clients.flatMap((c, i) =>
      Array.from({ length: 10 }, (_, k) => {
        const qty = (i + k) % 3 === 0 ? 2 : 1
        return c.request(`r${k}`, "hold.create", { sku: "SOUNDBAR", qty, nodeId: "WH-COL", ttlMs: 600_000 }).then((r) => ({ r, qty }))
      })
    )
  )
  const won = replies.filter(({ r }) => r.ok === true)
  const lost = replies.filter(({ r }) => r.ok !== true)
  const sold = won.reduce((n, { r }) => n + (r.result as { hold: { qty: number } }).hold.qty, 0)
  // Exactly the stock, whatever the order the requests arrive in: while 2 or more units are left every
  // request fits, and once 1 is left at most 36 of the single-unit requests have been served, so one of
  // the others (there are more than 37) takes the last unit.
  expect(replies.filter(({ qty }) => qty === 1).length).toBeGreaterThan(stock)
  expect(sold).toBe(stock)
  // Every refusal is insufficient_stock, and the refusals are exactly the requests that were not served.
  expect(new Set(lost.map(({ r }) => (r.error as { code: string }).code))).toEqual(new Set(["insufficient_stock"]))
  expect(won.length + lost.length).toBe(200)
  const pool = await fetch(`${t.url}/v1/pools/WH-COL/SOUNDBAR`, { headers: { authorization: `Bearer ${keys.ops}` } }).then((r) => r.json() as Promise<{ pool: unknown }>)
  expect(pool.pool).toMatchObject({ onHand: stock, held: stock, atp: 0 })
  for (const c of clients) c.close()
})
