/**
 * The ops token of this browser tab: taken from the URL fragment
 * (`/dashboard/#token=...`, removed from the address bar at once) or the
 * login form, and kept in sessionStorage (gone when the tab closes). It is
 * sent only in the socket.io handshake and the Authorization header, never
 * in a URL.
 */

const storageKey = "oms-ops-token"

export const tokenFromFragment = (): string | undefined => {
  const hash = location.hash.replace(/^#/, "")
  if (hash === "") return undefined
  const token = new URLSearchParams(hash).get("token") ?? undefined
  // never leave the token in the address bar or the history
  history.replaceState(null, "", location.pathname + location.search)
  return token && token.trim() !== "" ? token.trim() : undefined
}

export const storedToken = (): string | undefined => sessionStorage.getItem(storageKey) ?? undefined

export const storeToken = (token: string): void => sessionStorage.setItem(storageKey, token)

export const forgetToken = (): void => sessionStorage.removeItem(storageKey)
