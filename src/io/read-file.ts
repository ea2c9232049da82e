// The one way resnetc and @resnetc/runtime read a file they did not write themselves in this run
// (checkpoints, training state, training data): bounded in time and in memory.
// Takes: a path and a byte limit. Gives: the file's bytes, or throws ReadFileError with a one-line
// reason that names the file. Must not: block (a FIFO opened for reading waits for a writer
// forever; /dev/zero never ends), read more than limit + 1 bytes whatever fstat said (procfs
// files report size 0; a file can grow while it is read), or follow anything but the path given.

import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from "node:fs";

export class ReadFileError extends Error {
  override name = "ReadFileError";
  /** The errno code when the operating system refused (ENOENT, EACCES, ...). */
  readonly code: string | undefined;
  /** The reason without the file's name, for messages that name it themselves
   * ("cannot read X: <reason>"). */
  readonly reason: string;
  constructor(message: string, code?: string, reason?: string) {
    super(message);
    this.code = code;
    this.reason = reason ?? message;
  }
}

export interface ReadLimit {
  /** Most bytes accepted; one more and the read fails. */
  limit: number;
  /** What the file should be, for the message "X is larger than N, the limit for WHAT". */
  what: string;
}

/** 1536 -> "1.5 KiB": limits in messages read better rounded. */
export function formatBytes(n: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let u = 0;
  let x = n;
  while (x >= 1024 && u < units.length - 1) ((x /= 1024), u++);
  return u === 0 ? `${n} bytes` : `${Number.isInteger(x) ? x : x.toFixed(1)} ${units[u]}`;
}

function kind(st: Stats): string {
  if (st.isDirectory()) return "a folder";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a FIFO";
  if (st.isSocket()) return "a socket";
  return "not a regular file";
}

/** Reads a regular file of at most `limit` bytes. */
export function readFileLimited(path: string, { limit, what }: ReadLimit): Buffer {
  let fd: number;
  try {
    // O_NONBLOCK makes opening a FIFO return at once; for a regular file it changes nothing.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const other = `${code ?? (e as Error).message}`;
    const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : other;
    throw new ReadFileError(
      code === "ENOENT" ? `${path} does not exist` : `cannot read ${path} (${code ?? (e as Error).message})`,
      code,
      reason,
    );
  }
  try {
    const st = fstatSync(fd);
    // fstat on the opened descriptor, not stat on the name: the name could be swapped in between.
    if (!st.isFile()) {
      const reason = `it is ${kind(st)}, not a regular file`;
      throw new ReadFileError(`refusing to read ${path}: ${reason}`, undefined, reason);
    }
    const tooLarge = () => {
      const reason = `larger than ${formatBytes(limit)}, the limit for ${what}`;
      return new ReadFileError(`${path} is ${reason}`, undefined, reason);
    };
    if (st.size > limit) throw tooLarge();
    const chunks: Buffer[] = [];
    let total = 0;
    // The first read asks for size + 1 bytes, so the usual file is read in one call and its end
    // seen in the next; later reads (a growing or procfs file) go in 1 MiB steps.
    let want = st.size + 1;
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(want, limit + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
      total += n;
      if (total > limit) throw tooLarge();
      want = 1 << 20;
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } catch (e) {
    if (e instanceof ReadFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new ReadFileError(
      `cannot read ${path} (${code ?? (e as Error).message})`,
      code,
      `${code ?? (e as Error).message}`,
    );
  } finally {
    closeSync(fd);
  }
}
