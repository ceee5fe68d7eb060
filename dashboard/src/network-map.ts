/**
 * The node network drawn from its coordinates, with recent routing decisions
 * as arcs from the shipping nodes to the customer, coloured by how they were
 * routed. The outline (countries, and US states) comes from the packaged
 * world-atlas and us-atlas TopoJSON files, projected with d3-geo onto a
 * canvas: no map tiles, nothing fetched from outside the gateway. Two canvas
 * layers: the outline (redrawn only on resize or a new node extent) and the
 * nodes and arcs (redrawn by the page's render loop).
 */
import { geoMercator, geoPath, type GeoPermissibleObjects, type GeoProjection } from "d3-geo"
import { feature, mesh } from "topojson-client"
import type { GeometryCollection, Topology } from "topojson-specification"
import statesUrl from "us-atlas/states-10m.json?url"
import worldUrl from "world-atlas/countries-110m.json?url"
import type { ArcKind, NetworkNode, NodeRow, RoutingArc } from "./feed-types.ts"
import { Bounded } from "./series.ts"

export const arcColours: Readonly<Record<ArcKind, string>> = {
  single: "#4ea1ff",
  split: "#c77dff",
  pickup: "#3ddbe8",
  rerouted: "#ff9f43",
  backordered: "#ff4fa3"
}

export const arcLabels: Readonly<Record<ArcKind, string>> = {
  single: "single node",
  split: "split",
  pickup: "store pickup",
  rerouted: "re-routed",
  backordered: "backordered"
}

/** Node status colours: none of them is an arc colour, so a green store is online and a green arc does not exist. */
export const statusColours: Readonly<Record<string, string>> = { online: "#2ec27e", paused: "#f5c211", offline: "#ff5d5d" }

/** How near (px) the pointer must be to a node for its label to show. */
const hoverRadiusPx = 9

/** Arcs stay on the map this long, fading out. */
const arcLifetimeMs = 20_000
/** Arcs kept at most (a few ticks' worth at the feed's arc limit). */
const arcsMax = 400

interface DrawnArc extends RoutingArc {
  readonly receivedAt: number
}

interface Outline {
  readonly land: GeoPermissibleObjects
  readonly borders: GeoPermissibleObjects
  readonly states: GeoPermissibleObjects
}

const loadOutline = async (): Promise<Outline> => {
  const [world, us] = (await Promise.all([fetch(worldUrl).then((r) => r.json()), fetch(statesUrl).then((r) => r.json())])) as [Topology, Topology]
  const countries = world.objects.countries as GeometryCollection
  const states = us.objects.states as GeometryCollection
  return {
    land: feature(world, countries),
    borders: mesh(world, countries, (a, b) => a !== b),
    states: mesh(us, states, (a, b) => a !== b)
  }
}

export class NetworkMap {
  private readonly base: HTMLCanvasElement
  private readonly overlay: HTMLCanvasElement
  private outline: Outline | undefined
  private projection: GeoProjection = geoMercator()
  private extentKey = ""
  private width = 0
  private height = 0
  private ratio = 1
  private readonly arcs = new Bounded<DrawnArc>(arcsMax)
  private nodes = new Map<string, NetworkNode>()
  private status = new Map<string, NodeRow>()
  private baseDirty = true

  constructor(private readonly host: HTMLElement) {
    this.base = document.createElement("canvas")
    this.overlay = document.createElement("canvas")
    for (const c of [this.base, this.overlay]) host.append(c)
    host.setAttribute("role", "img")
    host.setAttribute("aria-label", "Map of the nodes and of recent routing decisions")
    host.addEventListener("mousemove", (ev) => {
      const rect = host.getBoundingClientRect()
      const n = this.nodeAt(ev.clientX - rect.left, ev.clientY - rect.top)
      const label = n ? this.labelOf(n) : ""
      if (host.title !== label) host.title = label
    })
    new ResizeObserver(() => {
      this.baseDirty = true
    }).observe(host)
    loadOutline().then(
      (o) => {
        this.outline = o
        this.baseDirty = true
      },
      (e: unknown) => console.error("the map outline did not load", e)
    )
  }

  setNodes(nodes: ReadonlyArray<NetworkNode>): void {
    this.nodes = new Map(nodes.map((n) => [n.nodeId, n]))
    this.baseDirty = true
  }

  /** Where a node is drawn (px from the map's top left), if it is. */
  pointOf(nodeId: string): [number, number] | undefined {
    const n = this.nodes.get(nodeId)
    return n && this.point(n.location.lon, n.location.lat)
  }

  /** The node drawn nearest (x, y) within hoverRadiusPx. */
  nodeAt(x: number, y: number): NetworkNode | undefined {
    let best: NetworkNode | undefined
    let bestD = hoverRadiusPx * hoverRadiusPx
    for (const n of this.nodes.values()) {
      const p = this.point(n.location.lon, n.location.lat)
      if (!p) continue
      const d = (p[0] - x) ** 2 + (p[1] - y) ** 2
      if (d <= bestD) [best, bestD] = [n, d]
    }
    return best
  }

  /** The hover label of a node: name, id, kind, status and load today. */
  labelOf(n: NetworkNode): string {
    const row = this.status.get(n.nodeId)
    const load = row ? ` · ${row.shipmentsToday.toLocaleString("en-US")} / ${row.capacityPerDay.toLocaleString("en-US")} shipments today` : ""
    return `${n.name} (${n.nodeId}) · ${n.kind} · ${row?.status ?? n.status}${load}`
  }

  knows(nodeId: string): boolean {
    return this.nodes.has(nodeId)
  }

  setStatus(rows: ReadonlyArray<NodeRow>): void {
    this.status = new Map(rows.map((r) => [r.nodeId, r]))
  }

  addArcs(arcs: ReadonlyArray<RoutingArc>): void {
    const now = performance.now()
    this.arcs.push(...arcs.map((a) => ({ ...a, receivedAt: now })))
  }

  get arcCount(): number {
    return this.arcs.length
  }

  /** Where an order's arc ends (its customer), in the map's CSS pixels, while it is drawn. */
  arcEnd(orderId: string): [number, number] | undefined {
    const arc = this.arcs.all.find((a) => a.orderId === orderId)
    return arc && this.point(arc.to.lon, arc.to.lat)
  }

  /** The newest arc drawn whose customer end lies within `radiusPx` of (x, y) in the map's CSS pixels (a click on it opens its order). */
  arcNear(x: number, y: number, radiusPx = 8): RoutingArc | undefined {
    const arcs = this.arcs.all
    for (let i = arcs.length - 1; i >= 0; i--) {
      const to = this.point(arcs[i].to.lon, arcs[i].to.lat)
      if (to && Math.hypot(to[0] - x, to[1] - y) <= radiusPx) return arcs[i]
    }
    return undefined
  }

  /** Fits the projection to the nodes' extent, padded so customers near the edge still show. */
  private fit(): void {
    const pts = [...this.nodes.values()].map((n) => n.location)
    let [w, s, e, n] = [-125, 24, -66, 50] // the contiguous US until nodes are known
    if (pts.length >= 2) {
      w = Math.min(...pts.map((p) => p.lon)); e = Math.max(...pts.map((p) => p.lon))
      s = Math.min(...pts.map((p) => p.lat)); n = Math.max(...pts.map((p) => p.lat))
    }
    const padLon = Math.max(2, (e - w) * 0.12)
    const padLat = Math.max(1.5, (n - s) * 0.12)
    const box = { type: "MultiPoint" as const, coordinates: [[w - padLon, s - padLat], [e + padLon, n + padLat]] }
    const key = `${this.width}x${this.height}:${box.coordinates.flat().map((x) => x.toFixed(2)).join(",")}`
    if (key === this.extentKey) return
    this.extentKey = key
    this.projection = geoMercator().fitExtent([[8, 8], [this.width - 8, this.height - 8]], box)
  }

  private sizeCanvases(): void {
    const rect = this.host.getBoundingClientRect()
    this.width = Math.max(100, Math.floor(rect.width))
    this.height = Math.max(100, Math.floor(rect.height))
    this.ratio = Math.min(2, window.devicePixelRatio || 1)
    for (const c of [this.base, this.overlay]) {
      c.width = this.width * this.ratio
      c.height = this.height * this.ratio
      c.style.width = `${this.width}px`
      c.style.height = `${this.height}px`
    }
  }

  private drawBase(): void {
    this.sizeCanvases()
    this.fit()
    const ctx = this.base.getContext("2d")!
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0)
    ctx.fillStyle = "#0b1220"
    ctx.fillRect(0, 0, this.width, this.height)
    if (!this.outline) return
    const path = geoPath(this.projection, ctx)
    ctx.beginPath()
    path(this.outline.land)
    ctx.fillStyle = "#172234"
    ctx.fill()
    ctx.beginPath()
    path(this.outline.borders)
    ctx.strokeStyle = "#33445c"
    ctx.lineWidth = 0.8
    ctx.stroke()
    ctx.beginPath()
    path(this.outline.states)
    ctx.strokeStyle = "#26354a"
    ctx.lineWidth = 0.6
    ctx.stroke()
  }

  private point(lon: number, lat: number): [number, number] | undefined {
    const p = this.projection([lon, lat])
    return p ?? undefined
  }

  /** Draws what changed; called by the page's render loop. */
  render(): void {
    if (this.baseDirty && this.outline !== undefined) {
      this.baseDirty = false
      this.drawBase()
    } else if (this.baseDirty && this.width === 0) this.drawBase()
    const now = performance.now()
    this.arcs.retain((a) => now - a.receivedAt < arcLifetimeMs)
    const ctx = this.overlay.getContext("2d")!
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0)
    ctx.clearRect(0, 0, this.width, this.height)

    ctx.lineWidth = 1.2
    for (const a of this.arcs.all) {
      const to = this.point(a.to.lon, a.to.lat)
      if (!to) continue
      const alpha = Math.max(0, 1 - (now - a.receivedAt) / arcLifetimeMs)
      ctx.globalAlpha = 0.15 + 0.75 * alpha
      ctx.strokeStyle = ctx.fillStyle = arcColours[a.kind]
      for (const nodeId of a.from) {
        const n = this.nodes.get(nodeId)
        const from = n && this.point(n.location.lon, n.location.lat)
        if (!from) continue
        const [mx, my] = [(from[0] + to[0]) / 2, (from[1] + to[1]) / 2]
        const [dx, dy] = [to[0] - from[0], to[1] - from[1]]
        ctx.beginPath()
        ctx.moveTo(from[0], from[1])
        ctx.quadraticCurveTo(mx - dy * 0.2, my + dx * 0.2, to[0], to[1])
        ctx.stroke()
      }
      ctx.beginPath()
      ctx.arc(to[0], to[1], 2, 0, Math.PI * 2)
      ctx.fill()
    }
    ctx.globalAlpha = 1

    ctx.font = "12px system-ui, sans-serif"
    for (const n of this.nodes.values()) {
      const p = this.point(n.location.lon, n.location.lat)
      if (!p) continue
      const row = this.status.get(n.nodeId)
      const status = row?.status ?? n.status
      ctx.fillStyle = statusColours[status] ?? "#8b96a8"
      ctx.strokeStyle = "#0b1220"
      ctx.lineWidth = 1
      if (n.kind === "warehouse") {
        ctx.fillRect(p[0] - 5, p[1] - 5, 10, 10)
        ctx.strokeRect(p[0] - 5, p[1] - 5, 10, 10)
        ctx.fillStyle = "#c9d4e3"
        ctx.fillText(n.nodeId, p[0] + 8, p[1] + 3)
      } else {
        ctx.beginPath()
        ctx.arc(p[0], p[1], 3.5, 0, Math.PI * 2)
        ctx.fill()
        ctx.stroke()
      }
      // load against daily capacity as a ring
      if (row && row.load > 0) {
        ctx.beginPath()
        ctx.strokeStyle = row.load >= 1 ? "#ff5d5d" : "#9fb3cc"
        ctx.lineWidth = 1.5
        ctx.arc(p[0], p[1], n.kind === "warehouse" ? 9 : 6, -Math.PI / 2, -Math.PI / 2 + Math.PI * 2 * Math.min(1, row.load))
        ctx.stroke()
      }
    }
  }
}
