/**
 * Cluster mode: the engine runners, their health, and which runner owns each
 * partition (with its owner epoch, which grows each time the partition moves).
 * Hidden until the first `cluster` message: a single-process engine has none.
 */
import { el, fmtTime, setText } from "./dom.ts"
import type { ClusterView } from "./feed-types.ts"

/** A runner whose heartbeat is older than this is shown as stale even if the cluster still calls it healthy. */
const staleHeartbeatMs = 10_000

export class ClusterPanel {
  private view: ClusterView | undefined
  private dirty = false

  constructor(private readonly root: HTMLElement) {
    root.hidden = true
  }

  update(view: ClusterView): void {
    this.view = view
    this.dirty = true
  }

  render(): void {
    if (!this.dirty || !this.view) return
    this.dirty = false
    const { runners, streams } = this.view
    this.root.hidden = false
    const now = Date.now()
    const unhealthy = runners.filter((r) => !r.healthy || now - Date.parse(r.lastHeartbeat) > staleHeartbeatMs).length
    setText(this.root.querySelector(".count")!, `${runners.length} runners${unhealthy > 0 ? `, ${unhealthy} unhealthy` : ""}`)
    const epochs = new Map(streams.map((s) => [s.stream, s.epoch]))
    const orphans = streams.filter((s) => !runners.some((r) => r.address === s.owner))
    this.root.querySelector("tbody")!.replaceChildren(
      ...runners.map((r) => {
        const age = now - Date.parse(r.lastHeartbeat)
        const state = !r.healthy ? "unhealthy" : age > staleHeartbeatMs ? "stale" : "healthy"
        return el("tr", { "data-runner": r.address },
          el("td", { class: "mono" }, r.address),
          el("td", {}, el("span", { class: "badge", "data-status": state === "healthy" ? "online" : state === "stale" ? "paused" : "offline" }, state)),
          el("td", {}, fmtTime(Date.parse(r.lastHeartbeat))),
          el("td", { class: "num" }, r.streams.length),
          el("td", { class: "mono" }, r.streams.map((s) => `${s}@${epochs.get(s) ?? "?"}`).join(" ")))
      }),
      ...orphans.map((s) => el("tr", { class: "bad" },
        el("td", { class: "mono" }, s.owner), el("td", {}, "gone"), el("td", {}, ""), el("td", { class: "num" }, 1),
        el("td", { class: "mono" }, `${s.stream}@${s.epoch} (claimed ${fmtTime(Date.parse(s.claimedAt))})`))))
  }
}
