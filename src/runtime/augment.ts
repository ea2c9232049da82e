// Image augmentation for training batches: pad-and-crop and horizontal flip (He et al. 2015's
// CIFAR recipe: pad 4, random 32x32 crop, random flip).
// Takes: a [B, C, H, W] float batch, in place, and a seeded random source. Gives: nothing.
// Must not: allocate per pixel (it runs on every step).

/** mulberry32: a small seeded generator of uniforms in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = (seed ^ 0x9e3779b9) >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function augmentBatch(images: Float32Array, b: number, c: number, h: number, w: number, opts: { pad: number; flip: boolean }, rand: () => number): void {
  const plane = h * w;
  const tmp = new Float32Array(plane);
  for (let n = 0; n < b; n++) {
    // A crop of the zero-padded image at offset (dy, dx) in [-pad, pad] is the image shifted.
    const dy = opts.pad ? Math.floor(rand() * (2 * opts.pad + 1)) - opts.pad : 0;
    const dx = opts.pad ? Math.floor(rand() * (2 * opts.pad + 1)) - opts.pad : 0;
    const flip = opts.flip && rand() < 0.5;
    if (!dy && !dx && !flip) continue;
    for (let ch = 0; ch < c; ch++) {
      const base = (n * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        for (let x = 0; x < w; x++) {
          const sx0 = x + dx;
          const sx = flip ? w - 1 - sx0 : sx0;
          tmp[y * w + x] = sy >= 0 && sy < h && sx0 >= 0 && sx0 < w ? images[base + sy * w + sx]! : 0;
        }
      }
      images.set(tmp, base);
    }
  }
}
