// Image augmentation for training batches: pad-and-crop and horizontal flip, He et al. 2015
// ("Deep Residual Learning", sec. 4.2: pad 4 pixels on each side, take a random 32x32 crop
// from the padded image or its horizontal flip); and the seeded generator every random choice
// of the runtime draws from (shuffling, augmentation, synthetic data).
// Takes: a [B, C, H, W] float batch, changed in place, and a seeded random source. Gives: nothing.
// Must not: allocate per pixel or per sample (it runs on every step), or depend on tfjs.

/** A seeded source of uniforms in [0, 1) whose position can be saved and taken up again. */
export interface Random {
  (): number;
  /** The generator's 32-bit state: `randomFromState(r.state())` continues exactly where r is. */
  state(): number;
}

/** mulberry32: a small seeded generator of uniforms in [0, 1), the same sequence on every machine. */
export function seededRandom(seed: number): Random {
  return randomFromState((seed ^ 0x9e3779b9) >>> 0);
}

/** Continues a generator from its saved state (a resumed training run's augmentation). */
export function randomFromState(state: number): Random {
  let a = state >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return Object.assign(next, { state: () => a >>> 0 });
}

/**
 * Per sample: a crop offset (dy, dx) uniform in [-pad, pad]^2 and, with `flip`, a mirror with
 * p = 0.5; the same for all channels of the sample. Draws 2 numbers from `rand` when pad > 0
 * and 1 more when flip, so a run is reproducible from its seed.
 */
export function augmentBatch(
  images: Float32Array,
  b: number,
  c: number,
  h: number,
  w: number,
  opts: { pad: number; flip: boolean },
  rand: () => number,
): void {
  // Wrong sizes are a bug in the caller: a RangeError rather than silently half-augmented data.
  if (images.length !== b * c * h * w)
    throw new RangeError(`augmentBatch: ${images.length} values are not a batch of ${b}x${c}x${h}x${w}`);
  if (!Number.isInteger(opts.pad) || opts.pad < 0)
    throw new RangeError(`augmentBatch: pad must be a whole number >= 0, got ${opts.pad}`);
  const plane = h * w;
  const tmp = new Float32Array(plane);
  const span = 2 * opts.pad + 1;
  for (let n = 0; n < b; n++) {
    // Cropping the zero-padded image at offset (pad + dy, pad + dx) is the image shifted by
    // (dy, dx) with zeros shifted in: no padded copy is needed.
    const dy = opts.pad ? Math.floor(rand() * span) - opts.pad : 0;
    const dx = opts.pad ? Math.floor(rand() * span) - opts.pad : 0;
    const flip = opts.flip && rand() < 0.5;
    if (!dy && !dx && !flip) continue;
    for (let ch = 0; ch < c; ch++) {
      const base = (n * c + ch) * plane;
      for (let y = 0; y < h; y++) {
        const sy = y + dy;
        const rowInside = sy >= 0 && sy < h;
        for (let x = 0; x < w; x++) {
          // Crop first, then mirror the crop: output column x reads crop column w-1-x.
          const cx = flip ? w - 1 - x : x;
          const sx = cx + dx;
          tmp[y * w + x] = rowInside && sx >= 0 && sx < w ? images[base + sy * w + sx]! : 0;
        }
      }
      images.set(tmp, base);
    }
  }
}
