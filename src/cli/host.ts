// The CLI's Host: real files, imports relative to the importing file, and the standard library
// shipped in this package's `std/` folder. Takes: a working directory. Gives: a `Host`.
// Must not: be imported by the compiler stages (they see only the Host interface).

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { Host } from "../compiler.js";

export const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const stdDir = join(packageRoot, "std");

export function displayPath(cwd: string, abs: string): string {
  const rel = relative(cwd, abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel.split(sep).join("/") : abs;
}

export function nodeHost(cwd: string): Host {
  return {
    readFile(path) {
      try {
        const abs = resolve(cwd, path);
        if (statSync(abs).isDirectory()) return { error: "is a directory" };
        return readFileSync(abs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { error: code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : String((e as Error).message) };
      }
    },
    resolveImport(fromFile, spec) {
      const abs = spec.startsWith("std/") ? join(stdDir, spec.slice(4)) : resolve(cwd, dirname(fromFile), spec);
      const withExt = existsSync(abs) ? abs : existsSync(`${abs}.resnet`) ? `${abs}.resnet` : undefined;
      return withExt === undefined ? undefined : displayPath(cwd, withExt);
    },
  };
}

/** `.resnet` files under the given files and folders, sorted, so output order is stable. */
export function expandInputs(cwd: string, inputs: string[]): { files: string[]; missing: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const walk = (abs: string): void => {
    for (const e of readdirSync(abs, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const p = join(abs, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".resnet")) files.push(displayPath(cwd, p));
    }
  };
  for (const i of inputs) {
    const abs = resolve(cwd, i);
    if (!existsSync(abs)) missing.push(i);
    else if (statSync(abs).isDirectory()) walk(abs);
    else files.push(displayPath(cwd, abs));
  }
  return { files, missing };
}
