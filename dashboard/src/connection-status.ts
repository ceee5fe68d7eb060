/**
 * What the page says about its connection to the ops feed: the badge (a live
 * region), the "stale since hh:mm:ss" banner and the page title while the
 * feed is down, and the title with the order rate while it is live. The
 * page's figures are only as fresh as the last tick: when the feed drops, the
 * page says so at once instead of showing old figures as current.
 */
import { byId, fmtInt, fmtTime, setText } from "./dom.ts"

const titleBase = "OMS ops"

export type FeedState = "connecting" | "live" | "down"

export class ConnectionStatus {
  private state: FeedState = "connecting"
  /** When the page last had a live feed (the stale figures are from then). */
  private lastLiveAt: number | undefined
  private ordersPerMin: number | undefined

  constructor(private readonly badge = byId("conn"), private readonly banner = byId("stale-banner")) {}

  get current(): FeedState {
    return this.state
  }

  connecting(): void {
    this.set("connecting", "connecting")
  }

  live(): void {
    this.set("live", "live")
  }

  /** The feed dropped (or cannot be reached); `why` says what the badge shows. */
  down(why: string): void {
    // stale since the last tick; without one, since the feed dropped
    if (this.lastLiveAt === undefined && this.state === "live") this.lastLiveAt = Date.now()
    this.set("down", why)
  }

  /** A tick arrived: the title carries the order rate. */
  tick(ordersPerSec: number, at: number): void {
    this.ordersPerMin = ordersPerSec * 60
    this.lastLiveAt = at
    this.render()
  }

  private set(state: FeedState, text: string): void {
    this.state = state
    this.badge.dataset.state = state === "live" ? "up" : state === "down" ? "down" : "connecting"
    setText(this.badge, text)
    this.render()
  }

  private render(): void {
    const stale = this.state === "down"
    const since = this.lastLiveAt === undefined ? "" : ` since ${fmtTime(this.lastLiveAt)}`
    this.banner.hidden = !stale
    if (stale) setText(this.banner, `Stale${since}: the live feed is disconnected, reconnecting. The figures below are not current.`)
    const title = stale
      ? `⚠ stale${since} — ${titleBase}`
      : this.state === "live" && this.ordersPerMin !== undefined
        ? `${titleBase} — ${fmtInt(this.ordersPerMin)} orders/min`
        : titleBase
    if (document.title !== title) document.title = title
  }
}
