// Inputs given as glob patterns (`resnetc lint "examples/**/*.resnet"`), quoted so the shell
// leaves them alone, next to plain files and folders.
// Takes: the working folder, the inputs, the project root. Gives: the `.resnet` files, sorted per
// input as expandInputs gives them, and the inputs that matched nothing. Must not: expand a
// pattern that starts outside the project root (absolute, or `..` that climbs out), list a file
// whose real path lies outside it (a link out of the project), follow links to folders, or look
// into dot folders and node_modules.

import { existsSync, realpathSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { globSync, isDynamicPattern } from "tinyglobby";
import { displayPath, expandInputs, isInside } from "./host.js";

export class PatternError extends Error {}

/** Whether `input` is a pattern rather than a path (a file literally named `a*.resnet` is a path). */
export function isPattern(cwd: string, input: string): boolean {
  return isDynamicPattern(input) && !existsSync(resolve(cwd, input));
}

export function expandPatterns(
  cwd: string,
  inputs: readonly string[],
  projectRoot: string,
): { files: string[]; missing: string[]; unmatched: string[] } {
  const files: string[] = [];
  const missing: string[] = [];
  const unmatched: string[] = [];
  const root = resolve(projectRoot);
  const realRoot = (() => {
    try {
      return realpathSync(root);
    } catch {
      return root;
    }
  })();
  for (const input of inputs) {
    if (!isPattern(cwd, input)) {
      const r = expandInputs(cwd, [input]);
      files.push(...r.files);
      missing.push(...r.missing);
      continue;
    }
    if (isAbsolute(input) || /^[A-Za-z]:/.test(input))
      throw new PatternError(`pattern ${input} is absolute: give it relative to the working folder`);
    // The fixed part before the first wildcard must stay inside the project.
    const fixed = input.split("/");
    const stem = fixed
      .slice(
        0,
        fixed.findIndex((s) => isDynamicPattern(s)),
      )
      .join("/");
    if (!isInside(root, resolve(cwd, stem || ".")))
      throw new PatternError(
        `pattern ${input} reaches outside the project root ${displayPath(cwd, root) || "."} (--root sets it)`,
      );
    const found = globSync(input, {
      cwd,
      absolute: true,
      onlyFiles: true,
      dot: false,
      followSymbolicLinks: false,
      expandDirectories: false,
      ignore: ["**/node_modules/**"],
    })
      .filter((abs) => abs.endsWith(".resnet") && isInside(root, resolve(abs)))
      .filter((abs) => {
        try {
          return isInside(realRoot, realpathSync(abs));
        } catch {
          return false;
        }
      })
      .map((abs) => displayPath(cwd, resolve(abs)))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (found.length === 0) unmatched.push(input);
    files.push(...found);
  }
  // A file matched by two inputs is linted once.
  return { files: [...new Set(files)], missing, unmatched };
}
