// The CLI's Host: real files, read under an import policy, and the standard library shipped in
// this package's `std/` folder. Takes: a working directory and optionally a project root.
// Gives: a `Host`. Must not: be imported by the compiler stages (they see only the Host
// interface); read anything it has not checked against the policy below.
//
// `resnetc lint` runs in CI on pull requests from strangers, so every `.resnet` file is hostile.
// The import policy (issue: hardening, findings 2 and 3):
// - Each root file has a project root: the folder given with --root, else the nearest folder
//   above the file holding `package.json`, `.git` or `resnetc.config.json`, else the file's own
//   folder. Its imports, and theirs, resolve inside that root; `std/...` resolves inside std/.
// - Absolute paths, `..` that climbs out, and symbolic links whose target lies outside are
//   refused (RN005) before anything is read, and the diagnostic never names the link's target.
// - Only regular `.resnet` files are read (RN006): no directories, FIFOs (which would block
//   forever), devices (`/dev/zero` would grow without end) or procfs entries. The file is
//   opened non-blocking and checked with fstat on the open descriptor, and at most
//   MAX_SOURCE_BYTES are read.

import { existsSync, lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Host, ImportResolution } from "../compiler.js";
import { readFileLimited, ReadFileError } from "../io/read-file.js";

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const stdDir = join(packageRoot, "std");

/** Largest .resnet source resnetc reads. The largest example is a few KB; 1 MiB is generous. */
export const MAX_SOURCE_BYTES = 1 << 20;

/** Files whose presence marks a project root. */
const ROOT_MARKERS = ["package.json", ".git", "resnetc.config.json"];

export function displayPath(cwd: string, abs: string): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : abs;
}

/** Whether `abs` is `dir` or lies below it (both absolute and normalised). */
export function isInside(dir: string, abs: string): boolean {
  const rel = relative(dir, abs);
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}

/** The nearest folder at or above `dir` that holds a project marker, or `dir` itself. */
export function findProjectRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (ROOT_MARKERS.some((m) => existsSync(join(d, m)))) return d;
    if (dirname(d) === d) return dir;
  }
}

function realOrUndefined(abs: string): string | undefined {
  try {
    return realpathSync(abs);
  } catch {
    return undefined;
  }
}

export interface NodeHostOptions {
  /** The project root for every root file (the CLI's --root), instead of the nearest marker. */
  root?: string;
}

export function nodeHost(cwd: string, options: NodeHostOptions = {}): Host {
  const realStd = realOrUndefined(stdDir) ?? stdDir;
  const fixedRoot = options.root === undefined ? undefined : resolve(cwd, options.root);
  /** The root each file read so far answers to (imports inherit their importer's). */
  const rootOf = new Map<string, string>();
  const rootFor = (path: string): string => {
    const known = rootOf.get(path);
    if (known !== undefined) return known;
    const abs = resolve(cwd, path);
    const root = isInside(stdDir, abs) ? stdDir : (fixedRoot ?? findProjectRoot(dirname(abs)));
    rootOf.set(path, root);
    return root;
  };

  return {
    readFile(path) {
      const abs = resolve(cwd, path);
      // Root files given on the command line may themselves be links: the same rule applies.
      const root = rootFor(path);
      const real = realOrUndefined(abs);
      if (real === undefined) return { error: lstatExists(abs) ? "it is a broken symbolic link" : "no such file" };
      const realRoot = root === stdDir ? realStd : (realOrUndefined(root) ?? root);
      if (!isInside(realRoot, real)) return { error: "it is a symbolic link to a file outside the project" };
      // The one bounded reader (src/io): non-blocking open, fstat on the descriptor, a size limit.
      try {
        return readFileLimited(abs, { limit: MAX_SOURCE_BYTES, what: ".resnet sources" });
      } catch (e) {
        if (e instanceof ReadFileError) return { error: e.reason };
        throw e;
      }
    },

    stablePath(path) {
      const abs = resolve(cwd, path);
      if (isInside(stdDir, abs)) return `std/${relative(stdDir, abs).split(sep).join("/")}`;
      const root = rootFor(path);
      const rel = relative(root, abs);
      // A root file outside its own root (possible with --root): its name alone.
      return isInside(root, abs) && rel ? rel.split(sep).join("/") : abs.split(sep).pop()!;
    },

    resolveImport(fromFile, spec): ImportResolution {
      const refuse = (code: "RN005" | "RN006", reason: string): ImportResolution => ({ refused: code, reason });
      if (spec.includes("\0")) return refuse("RN005", "the path contains a NUL character");
      if (isAbsolute(spec) || /^[A-Za-z]:/.test(spec) || spec.startsWith("\\") || spec.startsWith("~"))
        return refuse("RN005", "absolute paths are not allowed");
      const fromRoot = rootFor(fromFile);
      const isStd = spec.startsWith("std/");
      // std/ names the standard library from anywhere; inside std/, relative imports stay in it.
      const root = isStd ? stdDir : fromRoot;
      const abs = isStd ? resolve(stdDir, spec.slice(4)) : resolve(cwd, dirname(fromFile), spec);
      if (!isInside(root, abs))
        return refuse(
          "RN005",
          isStd ? "it leaves the standard library" : `it leaves the project root ${displayPath(cwd, root) || "."}`,
        );
      const target = lstatExists(abs) ? abs : lstatExists(`${abs}.resnet`) ? `${abs}.resnet` : undefined;
      if (target === undefined) return undefined;
      if (!target.endsWith(".resnet"))
        return refuse("RN006", isDirectory(target) ? "it is a directory" : "only .resnet files can be imported");
      const real = realOrUndefined(target);
      if (real === undefined) return refuse("RN006", "it is a broken symbolic link");
      const realRoot = root === stdDir ? realStd : (realOrUndefined(root) ?? root);
      if (!isInside(realRoot, real)) return refuse("RN005", "it is a symbolic link to a file outside the project");
      let kind: string | undefined;
      try {
        const st = statSync(real);
        if (!st.isFile()) kind = st.isDirectory() ? "it is a directory" : "it is not a regular file";
      } catch {
        kind = "it cannot be inspected";
      }
      if (kind) return refuse("RN006", kind);
      const shown = displayPath(cwd, target);
      rootOf.set(shown, root);
      return shown;
    },
  };
}

function isDirectory(abs: string): boolean {
  try {
    return lstatSync(abs).isDirectory();
  } catch {
    return false;
  }
}

function lstatExists(abs: string): boolean {
  try {
    lstatSync(abs);
    return true;
  } catch {
    return false;
  }
}

/** `.resnet` files under the given files and folders, sorted, so output order is stable. */
export function expandInputs(cwd: string, inputs: string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  // An explicit stack, not recursion: a deep folder tree must not overflow the call stack.
  // Symbolic links to folders are not followed (no cycles); links to files are listed and then
  // read under the host's policy, which refuses those that leave the project.
  const walk = (top: string): void => {
    const stack = [top];
    const found: string[] = [];
    while (stack.length) {
      const abs = stack.pop()!;
      for (const e of readdirSync(abs, { withFileTypes: true })) {
        if (e.name.startsWith(".") || e.name === "node_modules") continue;
        const p = join(abs, e.name);
        if (e.isDirectory()) stack.push(p);
        else if (e.name.endsWith(".resnet")) found.push(displayPath(cwd, p));
      }
    }
    files.push(...found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  };
  for (const i of inputs) {
    const abs = resolve(cwd, i);
    if (!existsSync(abs)) missing.push(i);
    else if (statSync(abs).isDirectory()) walk(abs);
    else files.push(displayPath(cwd, abs));
  }
  return { files, missing };
}
