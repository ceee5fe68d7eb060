/**
 * Order intake from Shopify: the orders/create webhook as Shopify publishes
 * it, verified and mapped to the engine's order.place; orders/paid (the same
 * order JSON) records the payment of an order taken as pending (http-api.ts).
 *
 * - Which shops: GATEWAY_SHOPIFY, JSON shaped
 *     { "<shop>.myshopify.com": { "channel": "web", "secret": "<app's client secret>" }, "*": { ... } }
 *   the shop is the X-Shopify-Shop-Domain header ("*" serves any other shop).
 * - Authenticity: X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw
 *   body with the shop's secret; compared in constant time before the body
 *   is even parsed.
 * - Idempotency: the external id is `shopify:<order id>` (the id is read from
 *   admin_graphql_api_id when present, since Shopify's 64-bit ids can exceed
 *   what a JSON number holds exactly), so a webhook delivered twice is one
 *   order (the engine is idempotent on channel + external id).
 * - Mapping: line items by SKU (items of the same SKU are summed, since the
 *   engine takes one line per SKU; items that need no shipping, such as gift
 *   cards, are skipped); price in cents from `price`; the shipping address's
 *   latitude/longitude, else its city (a place the engine knows); the
 *   financial status decides payment: paid, authorized, partially_paid ->
 *   authorised; pending (or none) -> pending; voided, refunded ->
 *   unpayable_order. Local pickup orders are not mapped (no pickup store in
 *   Shopify's payload maps to a node id).
 */
import { createHmac, timingSafeEqual } from "node:crypto"
import { Result, Schema } from "effect"
import type { OrderLineInput, PlaceOrder } from "../engine/index.ts"
import { gatewayError, type ErrorBody } from "./errors.ts"

const Shop = Schema.Struct({ channel: Schema.String, secret: Schema.String })
const Shops = Schema.Record(Schema.String, Shop)

export interface ShopifyShop {
  readonly channel: string
  readonly secret: string
}

export interface ShopifyShops {
  /** Shop domain (or "*") -> channel and secret. */
  readonly byDomain: Readonly<Record<string, ShopifyShop>>
}

export const noShopifyShops: ShopifyShops = { byDomain: {} }

export const shopFor = (shops: ShopifyShops, domain: string): ShopifyShop | undefined =>
  shops.byDomain[domain.toLowerCase()] ?? shops.byDomain["*"]

const decodeShops = Schema.decodeUnknownResult(Shops, { onExcessProperty: "error" })

/** Secrets shorter than this are refused at start: a guessable secret lets anyone place orders. */
const secretLengthMin = 16

export const shopifyShopsFromEnv = (env: Readonly<Record<string, string | undefined>> = process.env): ShopifyShops => {
  const text = env.GATEWAY_SHOPIFY?.trim()
  if (!text) return noShopifyShops
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (e) {
    throw new Error(`GATEWAY_SHOPIFY is not JSON: ${String(e)}`)
  }
  const decoded = decodeShops(json)
  if (Result.isFailure(decoded)) throw new Error(`GATEWAY_SHOPIFY has the wrong shape: ${decoded.failure.message}`)
  const byDomain: Record<string, ShopifyShop> = {}
  for (const [domain, shop] of Object.entries(decoded.success)) {
    if (shop.secret.length < secretLengthMin) throw new Error(`GATEWAY_SHOPIFY: the secret of ${domain} is shorter than ${secretLengthMin} characters`)
    byDomain[domain.toLowerCase()] = shop
  }
  return { byDomain }
}

/** The X-Shopify-Hmac-Sha256 value Shopify sends for this body. */
export const shopifySignature = (secret: string, rawBody: Buffer | string): string =>
  createHmac("sha256", secret).update(rawBody).digest("base64")

/** Constant-time check of the header against the body. */
export const verifyShopifySignature = (secret: string, rawBody: Buffer, header: string): boolean => {
  const expected = Buffer.from(shopifySignature(secret, rawBody), "base64")
  let given: Buffer
  try {
    given = Buffer.from(header.trim(), "base64")
  } catch {
    return false
  }
  return given.length === expected.length && timingSafeEqual(given, expected)
}

// ---- the order payload (only the fields used; Shopify sends many more) -----------------------

const NullableString = Schema.NullOr(Schema.String)
const NullableNumber = Schema.NullOr(Schema.Number)
const opt = Schema.optionalKey

const Address = Schema.Struct({
  city: opt(NullableString),
  country: opt(NullableString),
  country_code: opt(NullableString),
  latitude: opt(Schema.NullOr(Schema.Union([Schema.Number, Schema.String]))),
  longitude: opt(Schema.NullOr(Schema.Union([Schema.Number, Schema.String]))),
  name: opt(NullableString)
})

const LineItem = Schema.Struct({
  sku: opt(NullableString),
  quantity: Schema.Number,
  price: opt(Schema.Union([Schema.String, Schema.Number])),
  requires_shipping: opt(Schema.NullOr(Schema.Boolean)),
  name: opt(NullableString)
})

export const ShopifyOrder = Schema.Struct({
  id: Schema.Union([Schema.Number, Schema.String]),
  admin_graphql_api_id: opt(NullableString),
  name: opt(NullableString),
  email: opt(NullableString),
  financial_status: opt(NullableString),
  line_items: Schema.Array(LineItem),
  shipping_address: opt(Schema.NullOr(Address)),
  customer: opt(Schema.NullOr(Schema.Struct({ first_name: opt(NullableString), last_name: opt(NullableString), email: opt(NullableString) }))),
  cancelled_at: opt(NullableString)
})
export type ShopifyOrder = typeof ShopifyOrder.Type

/** Shopify's order JSON, read leniently: the fields used are checked, every other field is ignored. */
export const decodeShopifyOrder = Schema.decodeUnknownResult(ShopifyOrder)

export type Mapped = { readonly ok: true; readonly command: PlaceOrder } | { readonly ok: false; readonly error: ErrorBody }

const fail = (error: ErrorBody): Mapped => ({ ok: false, error })

const orderIdOf = (o: ShopifyOrder): string | undefined => {
  const gid = o.admin_graphql_api_id?.match(/^gid:\/\/shopify\/Order\/(\d+)$/)?.[1]
  if (gid) return gid
  if (typeof o.id === "string" && /^\d+$/.test(o.id)) return o.id
  if (typeof o.id === "number" && Number.isSafeInteger(o.id) && o.id > 0) return String(o.id)
  return undefined
}

const cents = (price: string | number | undefined): number | undefined => {
  if (price === undefined) return 0
  const n = typeof price === "number" ? price : Number(price)
  return Number.isFinite(n) && n >= 0 ? Math.round(n * 100) : undefined
}

const coordinate = (x: string | number | null | undefined): number | undefined => {
  if (x === null || x === undefined || x === "") return undefined
  const n = typeof x === "number" ? x : Number(x)
  return Number.isFinite(n) ? n : undefined
}

const payments: Readonly<Record<string, "pending" | "authorised" | "refused">> = {
  paid: "authorised",
  authorized: "authorised",
  partially_paid: "authorised",
  pending: "pending",
  voided: "refused",
  refunded: "refused",
  partially_refunded: "authorised"
}

/** Shopify's order as the engine's order.place for `channel`, or a named error. */
export const mapShopifyOrder = (o: ShopifyOrder, channel: string): Mapped => {
  const id = orderIdOf(o)
  if (id === undefined) return fail(gatewayError("invalid_frame", "the order has no usable id"))
  const payment = payments[o.financial_status ?? "pending"] ?? "pending"
  if (payment === "refused") return fail(gatewayError("unpayable_order", `the order's financial status is ${o.financial_status}`))
  const bySku = new Map<string, { qty: number; unitPriceCents: number }>()
  for (const [i, item] of o.line_items.entries()) {
    if (item.requires_shipping === false) continue
    const sku = item.sku?.trim()
    if (!sku) return fail(gatewayError("line_without_sku", `line item ${i + 1} (${item.name ?? "unnamed"}) has no SKU`))
    const price = cents(item.price)
    if (price === undefined) return fail(gatewayError("invalid_frame", `line item ${i + 1} has a price that is not a number`))
    const line = bySku.get(sku)
    // the engine takes one line per SKU: items of the same SKU become one line at their average price
    if (line) {
      line.unitPriceCents = Math.round((line.unitPriceCents * line.qty + price * item.quantity) / (line.qty + item.quantity))
      line.qty += item.quantity
    } else bySku.set(sku, { qty: item.quantity, unitPriceCents: price })
  }
  if (bySku.size === 0) return fail(gatewayError("invalid_frame", "the order has no line item to ship"))
  const lines: Array<OrderLineInput> = [...bySku].map(([sku, l]) => ({ sku, qty: l.qty, unitPriceCents: l.unitPriceCents }))
  const address = o.shipping_address ?? undefined
  const lat = coordinate(address?.latitude)
  const lon = coordinate(address?.longitude)
  const place = address?.city?.trim()
  const name = address?.name ?? ([o.customer?.first_name, o.customer?.last_name].filter(Boolean).join(" ") || undefined)
  const email = o.email ?? o.customer?.email ?? undefined
  return {
    ok: true,
    command: {
      type: "order.place",
      channel,
      externalId: `shopify:${id}`,
      lines,
      customer: {
        ...(name ? { name } : {}),
        ...(email ? { email } : {}),
        ...(lat !== undefined && lon !== undefined ? { location: { lat, lon } } : place ? { place } : {})
      },
      payment: payment === "authorised" ? "authorised" : "pending"
    }
  }
}
