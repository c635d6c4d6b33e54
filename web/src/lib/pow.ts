//! The proof of work a join-code lookup needs once its network has made too many wrong guesses
//! (server: auth/guess.rs): a nonce such that SHA-1(`challenge:code:nonce`) starts with `bits`
//! zero bits. SHA-1 is written here because WebCrypto is missing on plain-HTTP venue servers,
//! and it is synchronous, so the search runs in short slices that leave the page responsive.

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

/** SHA-1 of an ASCII string, as 5 big-endian 32-bit words. */
export function sha1Words(text: string): Uint32Array {
  const n = text.length;
  const blocks = ((n + 8) >> 6) + 1;
  const w = new Uint32Array(blocks * 16);
  for (let i = 0; i < n; i++) w[i >> 2]! |= (text.charCodeAt(i) & 0xff) << (24 - (i % 4) * 8);
  w[n >> 2]! |= 0x80 << (24 - (n % 4) * 8);
  w[blocks * 16 - 1] = n * 8;
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;
  const x = new Uint32Array(80);
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < 16; i++) x[i] = w[b * 16 + i]!;
    for (let i = 16; i < 80; i++) x[i] = rotl(x[i - 3]! ^ x[i - 8]! ^ x[i - 14]! ^ x[i - 16]!, 1);
    let a = h0;
    let bb = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (bb & c) | (~bb & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = bb ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (bb & c) | (bb & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = bb ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (rotl(a, 5) + f + e + k + x[i]!) | 0;
      e = d;
      d = c;
      c = rotl(bb, 30);
      bb = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + bb) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }
  return Uint32Array.from([h0, h1, h2, h3, h4]);
}

/** Leading zero bits of SHA-1(`challenge:code:nonce`), as the server counts them. */
export function zeroBits(challenge: string, code: string, nonce: string): number {
  const h = sha1Words(`${challenge}:${code}:${nonce}`);
  let bits = 0;
  for (const word of h) {
    if (word === 0) {
      bits += 32;
      continue;
    }
    return bits + Math.clz32(word);
  }
  return bits;
}

/** Finds a nonce with `bits` leading zero bits, yielding to the page every few thousand tries. */
export async function solve(challenge: string, code: string, bits: number): Promise<string> {
  for (let n = 0; ; n++) {
    const nonce = n.toString(36);
    if (zeroBits(challenge, code, nonce) >= bits) return nonce;
    if (n % 4096 === 4095) await new Promise((r) => setTimeout(r, 0));
  }
}
