/**
 * The benchmarks' WebSocket load driver speaks real WebSocket: against a bare
 * uWebSockets.js server it completes the handshake, its masked frames of every
 * length class arrive intact, replies split across TCP reads are put back
 * together, and queued frames keep their order; against the gateway it gets
 * real replies, whose id and outcome it reads without decoding them.
 */
import uWS from "uWebSockets.js"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { keys, startTestGateway, type TestGateway } from "../gateway/testing/harness.ts"
import { isPush, openDriverSocket, replyId, replyOk } from "./ws-driver.ts"

let echoPort = 0
let listen: uWS.us_listen_socket | undefined
let gw: TestGateway

beforeAll(async () => {
  const app = uWS.App()
  app.ws("/echo", {
    maxPayloadLength: 1024 * 1024,
    compression: uWS.DISABLED,
    message: (ws, message, isBinary) => {
      ws.send(message, isBinary)
    }
  })
  listen = await new Promise<uWS.us_listen_socket>((resolve, reject) =>
    app.listen("127.0.0.1", 0, (s) => (s ? resolve(s) : reject(new Error("cannot listen")))))
  echoPort = uWS.us_socket_local_port(listen as unknown as uWS.us_socket)
  gw = await startTestGateway({ stock: [["HDMI", "WH-DAL", 5]] })
})

afterAll(async () => {
  if (listen) uWS.us_listen_socket_close(listen)
  await gw?.close()
})

describe("ws load driver", () => {
  it("sends and receives frames of every length class, in order, intact", async () => {
    const ws = await openDriverSocket(`ws://127.0.0.1:${echoPort}/echo`)
    // 7-bit, 16-bit and 64-bit payload lengths; multi-byte UTF-8 so that bytes and characters differ
    const texts = [0, 1, 125, 126, 127, 1_000, 65_535, 65_536, 200_000].map((n, i) => `${i}:` + "é".repeat(n))
    const got: Array<string> = []
    const all = new Promise<void>((resolve) => {
      ws.onMessage = (payload) => {
        got.push(payload.toString("utf8"))
        if (got.length === texts.length) resolve()
      }
    })
    for (const t of texts) ws.send(t)
    await all
    expect(got).toEqual(texts)
    await ws.close()
    expect(ws.closed).toBe(true)
  })

  it("reports an upgrade the server turns down", async () => {
    await expect(openDriverSocket(`${gw.wsUrl}?key=no-such-key`)).rejects.toThrow(/upgrade refused: HTTP\/1.1 401/)
  })

  it("gets the gateway's replies and reads their id and outcome", async () => {
    const ws = await openDriverSocket(`${gw.wsUrl}?key=${keys.web}`)
    const replies = new Map<number, { ok: boolean; text: string }>()
    const done = new Promise<void>((resolve) => {
      ws.onMessage = (payload) => {
        if (isPush(payload)) return
        replies.set(replyId(payload), { ok: replyOk(payload), text: payload.toString("utf8") })
        if (replies.size === 2) resolve()
      }
    })
    ws.send(JSON.stringify({ id: 41, op: "hold.create", sku: "HDMI", qty: 1 }))
    ws.send(JSON.stringify({ id: 42, op: "hold.create", sku: "NO-SUCH-SKU", qty: 1 }))
    await done
    expect(replies.get(41)!.ok).toBe(true)
    expect(JSON.parse(replies.get(41)!.text)).toMatchObject({ id: 41, ok: true })
    expect(replies.get(42)!.ok).toBe(false)
    expect(JSON.parse(replies.get(42)!.text)).toMatchObject({ id: 42, ok: false })
    await ws.close()
  })
})
