// Shared by the kernel tests (cpu and wasm): convolution shapes that cover strides 1 and 2 (and
// mixed), same/valid/explicit padding, 1x1 to 7x7 kernels, batch 1 and odd sizes, and the
// relative error they are judged by.

export interface ConvCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  stride: [number, number];
  pad: "same" | "valid" | number;
}

// The 10x10 valid stride-2 case leaves input rows the convolution never reads.
export const CONV_CASES: ConvCase[] = [
  { n: 1, h: 7, w: 5, ci: 3, co: 4, k: [3, 3], stride: [1, 1], pad: "same" },
  { n: 2, h: 8, w: 8, ci: 4, co: 6, k: [3, 3], stride: [2, 2], pad: "same" },
  { n: 3, h: 9, w: 6, ci: 5, co: 3, k: [3, 2], stride: [2, 1], pad: "valid" },
  { n: 1, h: 6, w: 6, ci: 2, co: 5, k: [1, 1], stride: [2, 2], pad: "valid" },
  { n: 2, h: 5, w: 7, ci: 3, co: 2, k: [5, 5], stride: [1, 1], pad: 2 },
  { n: 1, h: 11, w: 11, ci: 6, co: 8, k: [7, 7], stride: [2, 2], pad: "same" },
  { n: 1, h: 10, w: 10, ci: 3, co: 4, k: [3, 3], stride: [2, 2], pad: "valid" },
  { n: 5, h: 9, w: 9, ci: 16, co: 32, k: [3, 3], stride: [2, 2], pad: "same" },
  { n: 2, h: 6, w: 7, ci: 3, co: 5, k: [3, 3], stride: [1, 1], pad: "valid" },
];

/** max |a - b| / max |b|; arrays of different lengths are infinitely far apart. */
export function relErr(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / Math.max(den, 1e-12);
}
