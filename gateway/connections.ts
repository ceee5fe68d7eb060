/**
 * What the gateway holds at once, bounded: connections and buffered request
 * bodies.
 *
 * Connections: storefront WS, socket.io clients (WS or polling) and HTTP
 * requests in progress all count against connectionsMax. Health, readiness,
 * metrics, node and internal routes may use the whole of it; everything else
 * (other routes, WS upgrades, socket.io handshakes) is refused from
 * connectionsMax - connectionsReserved on, so a gateway full of storefronts
 * still answers its load balancer and its fulfillment nodes. connectionsMax
 * defaults to the file limit less a reserve (config.ts), so the limit is met
 * with a 503 before accept() runs out of descriptors.
 *
 * Bodies: bytes of request bodies being buffered across all HTTP requests,
 * at most bodyBytesBufferedMax; a body that would pass it is refused with 503
 * gateway_busy before it is read.
 */
import type { GatewayConfig } from "./config.ts"

export class Connections {
  /** HTTP requests admitted and not yet answered or aborted. */
  httpInFlight = 0
  /** Connections held outside the HTTP API (storefront WS, socket.io clients), set by the server once they exist. */
  others: () => number = () => 0

  constructor(private readonly config: Pick<GatewayConfig, "connectionsMax" | "connectionsReserved">) {}

  get total(): number {
    return this.httpInFlight + this.others()
  }

  /** May one more connection (or request) be served? `priority`: a health, node or internal route, which may use the reserve. */
  admits(priority: boolean): boolean {
    return this.total < (priority ? this.config.connectionsMax : this.config.connectionsMax - this.config.connectionsReserved)
  }
}

export class BodyBudget {
  /** Bytes taken by bodies being read or handled. */
  used = 0

  constructor(readonly max: number) {}

  /** Takes `bytes` of the budget; false (nothing taken) when it would pass max. */
  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false
    this.used += bytes
    return true
  }

  give(bytes: number): void {
    this.used -= bytes
  }
}
