/** Two independent 32-bit hashes of a string (FNV-1a and a multiplicative variant), for double hashing and wide keys. */
export const hashPair = (text: string): [number, number] => {
  let h1 = 0x811c9dc5
  let h2 = 0x9747b28c
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 0x01000193)
    h2 = Math.imul(h2 ^ c, 0x5bd1e995)
    h2 ^= h2 >>> 15
  }
  return [h1 >>> 0, h2 >>> 0]
}
