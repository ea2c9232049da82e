// The one way resnetc and @resnetc/runtime write a file: readers (and a run killed midway) see the
// old file or the new one, never half of one.
// Takes: a target path and its bytes (or several files to write together). Gives: nothing, or
// throws AtomicWriteError with a one-line reason. Must not: follow a symbolic link at the target
// (`-o` naming a link, or `/dev/stdout` run as root, would replace the link or the device node),
// leave a temporary file behind on failure or on SIGINT/SIGTERM, or write outside the target's
// own folder (the temporary file sits beside it, so the rename never crosses file systems).

import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

export class AtomicWriteError extends Error {}

/** Temporary files being written now: removed if the process is interrupted. */
const pending = new Set<string>();
let handlersInstalled = false;

function installSignalCleanup(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const cleanup = (): void => {
    for (const tmp of pending) rmSync(tmp, { force: true, recursive: true });
    pending.clear();
  };
  process.on("exit", cleanup);
  // Writes are synchronous, so a signal is handled between two of them; remove what is pending,
  // then end as the signal would have (128 + its number), unless someone else handles it.
  for (const [signal, code] of [
    ["SIGINT", 130],
    ["SIGTERM", 143],
  ] as const) {
    process.on(signal, () => {
      cleanup();
      if (process.listenerCount(signal) === 1) process.exit(code);
    });
  }
}

/** Refuses a target that exists and is not a regular file (a link, a device, a FIFO, a folder). */
function checkTarget(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new AtomicWriteError(`cannot write ${path}: ${(e as Error).message}`);
  }
  if (st.isSymbolicLink())
    throw new AtomicWriteError(
      `refusing to write ${path}: it is a symbolic link (write to the file it points at, or remove the link)`,
    );
  if (!st.isFile()) throw new AtomicWriteError(`refusing to write ${path}: it is not a regular file`);
}

/** Writes `data` to a new temporary file beside `path`, fsyncs it, and returns its name. */
function writeTemp(path: string, data: Uint8Array | string): string {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  installSignalCleanup();
  pending.add(tmp);
  let fd: number | undefined;
  try {
    // O_EXCL: a name someone else planted (a link to elsewhere) is never opened.
    fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    return tmp;
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    rmSync(tmp, { force: true });
    pending.delete(tmp);
    throw e instanceof AtomicWriteError ? e : new AtomicWriteError(`cannot write ${path}: ${(e as Error).message}`);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = openSync(dir, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // Some file systems cannot fsync a folder; the rename itself is still atomic.
  }
}

/** Replaces `path` with `data` atomically (temp file in the same folder, fsync, rename). */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  writeFilesAtomic([[path, data]]);
}

/**
 * Writes several files so that none is renamed until all are written: a failure or a signal
 * while writing leaves every target as it was. (The renames themselves follow each other; a
 * crash between two renames is the one window left, milliseconds wide.)
 */
export function writeFilesAtomic(files: readonly (readonly [string, Uint8Array | string])[]): void {
  for (const [path] of files) checkTarget(path);
  const temps: string[] = [];
  try {
    for (const [path, data] of files) temps.push(writeTemp(path, data));
    for (const [i, [path]] of files.entries()) {
      renameSync(temps[i]!, path);
      pending.delete(temps[i]!);
    }
  } catch (e) {
    for (const t of temps) {
      rmSync(t, { force: true });
      pending.delete(t);
    }
    throw e instanceof AtomicWriteError
      ? e
      : new AtomicWriteError(`cannot write ${files.map(([p]) => p).join(", ")}: ${(e as Error).message}`);
  }
  for (const dir of new Set(files.map(([p]) => dirname(p)))) fsyncDir(dir);
}

/**
 * Writes a folder of generated files (`compile --target ts`: model.ts and train.ts) as one swap:
 * the files are written and fsynced in a new sibling folder, which then takes the target's name
 * (the old folder renamed away first, then removed), so a killed compile leaves the old folder or
 * the new one, never a new model.ts beside an old train.ts. A target folder that holds anything
 * else (the user's own files) is not swapped away: then the files are replaced one by one, all
 * written before any is renamed (writeFilesAtomic).
 */
export function writeFolderAtomic(dir: string, files: Readonly<Record<string, Uint8Array | string>>): void {
  const names = Object.keys(files);
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    st = undefined;
  }
  if (st && (st.isSymbolicLink() || !st.isDirectory()))
    throw new AtomicWriteError(
      `refusing to write into ${dir}: it is ${st.isSymbolicLink() ? "a symbolic link" : "not a folder"}`,
    );
  if (st && readdirSync(dir).some((e) => !names.includes(e))) {
    writeFilesAtomic(names.map((n) => [join(dir, n), files[n]!] as const));
    return;
  }
  const parent = dirname(dir);
  mkdirSync(parent, { recursive: true });
  installSignalCleanup();
  const tmp = mkdtempSync(join(parent, `.${basename(dir)}.tmp-${process.pid}-`));
  pending.add(tmp);
  // mkdtemp makes 0700; the folder gets the old one's mode, or a plain folder's.
  chmodSync(tmp, st ? st.mode & 0o7777 : 0o755 & ~process.umask());
  const old = `${tmp}.old`;
  try {
    for (const n of names) {
      const fd = openSync(join(tmp, n), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
      try {
        const data = files[n]!;
        const bytes = typeof data === "string" ? Buffer.from(data, "utf8") : data;
        for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off, bytes.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    fsyncDir(tmp);
    if (existsSync(dir)) {
      pending.add(old);
      renameSync(dir, old);
    }
    renameSync(tmp, dir);
    pending.delete(tmp);
    fsyncDir(parent);
  } catch (e) {
    // Put the old folder back if it was moved away and the new one did not take its place.
    if (existsSync(old) && !existsSync(dir)) renameSync(old, dir);
    throw e instanceof AtomicWriteError ? e : new AtomicWriteError(`cannot write ${dir}: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(old, { recursive: true, force: true });
    pending.delete(tmp);
    pending.delete(old);
  }
}
