// IDX fixture writers for the data tests and the web page's file test: the formats as their
// documentation describes them (yann.lecun.com/exdb/mnist), independent of the parser under test.
// Takes: counts, dims and values. Gives: the file's bytes. Must not: share code with data-parse.ts.

/** IDX images: magic 0x00000803, count, rows, columns (big-endian uint32), then the bytes. */
export function idxImages(count: number, h: number, w: number, pixel: (i: number) => number, magic = 0x803): Buffer {
  const b = Buffer.alloc(16 + count * h * w);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(count, 4);
  b.writeUInt32BE(h, 8);
  b.writeUInt32BE(w, 12);
  for (let i = 0; i < count * h * w; i++) b[16 + i] = pixel(i);
  return b;
}
/** IDX labels: magic 0x00000801, count, then one byte per label. */
export function idxLabels(labels: number[], magic = 0x801): Buffer {
  const b = Buffer.alloc(8 + labels.length);
  b.writeUInt32BE(magic, 0);
  b.writeUInt32BE(labels.length, 4);
  labels.forEach((l, i) => (b[8 + i] = l));
  return b;
}
