// The project's lint configuration: `resnetc.config.json`, or a `resnetc` key in package.json,
// found in the working folder or the nearest folder above it, up to the project root.
// Takes: the working folder and the project root. Gives: a per-code severity table, and a
// function that applies it to diagnostics. Must not: look above the project root (a config in a
// parent folder belongs to someone else), or let a config turn off or down an error (an error
// means there is no model to build; only warnings are a matter of taste).
//
//   { "rules": { "RN303": "off" | "warn" | "error" } }

import { dirname, join, resolve } from "node:path";
import { existsSync } from "node:fs";
import type { Diagnostic, SourceFile } from "../diagnostics/diagnostic.js";
import { applySuppressions } from "../diagnostics/suppress.js";
import { messages } from "../diagnostics/messages.js";
import { suggest } from "../semantics/builtins.js";
import { readFileLimited, ReadFileError } from "../io/read-file.js";
import { displayPath, isInside, stdDir } from "./host.js";

export type RuleLevel = "off" | "warn" | "error";

export interface LintConfig {
  /** Where the config was read from (shown in messages), or undefined when none was found. */
  file?: string;
  rules: Map<string, RuleLevel>;
}

/** A config that cannot be read or makes no sense: a usage error (exit 2). */
export class ConfigError extends Error {}

const LEVELS: Record<string, RuleLevel> = { off: "off", warn: "warn", warning: "warn", error: "error" };

/** The config in effect for `cwd`: the first found walking up from `cwd` to `projectRoot`. */
export function loadConfig(cwd: string, projectRoot: string): LintConfig {
  const top = resolve(projectRoot);
  let dir = resolve(cwd);
  // A working folder outside the project (--root elsewhere) looks only at the root itself.
  if (!isInside(top, dir)) dir = top;
  for (;;) {
    const own = join(dir, "resnetc.config.json");
    if (existsSync(own)) return parseConfig(readJson(own, cwd), displayPath(cwd, own));
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      const j = readJson(pkg, cwd) as Record<string, unknown> | null;
      if (j && typeof j === "object" && "resnetc" in j)
        return parseConfig(j["resnetc"], `${displayPath(cwd, pkg)}#resnetc`);
    }
    if (dir === top || dirname(dir) === dir) return { rules: new Map() };
    dir = dirname(dir);
  }
}

/** Every file that could hold the config for `cwd` (for `check --watch`), existing or not. */
export function configCandidates(cwd: string, projectRoot: string): string[] {
  const top = resolve(projectRoot);
  const out: string[] = [];
  for (let dir = isInside(top, resolve(cwd)) ? resolve(cwd) : top; ; dir = dirname(dir)) {
    out.push(join(dir, "resnetc.config.json"), join(dir, "package.json"));
    if (dir === top || dirname(dir) === dir) return out;
  }
}

function readJson(abs: string, cwd: string): unknown {
  let text: string;
  try {
    text = new TextDecoder().decode(readFileLimited(abs, { limit: 1 << 20, what: "config files" }));
  } catch (e) {
    if (e instanceof ReadFileError) throw new ConfigError(`cannot read ${displayPath(cwd, abs)}: ${e.reason}`);
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${displayPath(cwd, abs)} is not valid JSON: ${(e as Error).message}`);
  }
}

export function parseConfig(j: unknown, file: string): LintConfig {
  if (!j || typeof j !== "object" || Array.isArray(j))
    throw new ConfigError(`${file}: the config must be an object like {"rules": {"RN303": "off"}}`);
  for (const k of Object.keys(j)) {
    if (k === "rules" || k === "$schema") continue;
    const s = suggest(k, ["rules"]);
    throw new ConfigError(`${file}: unknown key "${k}"${s ? `; did you mean "${s}"?` : ""} (a config has "rules")`);
  }
  const rules = new Map<string, RuleLevel>();
  const given = (j as { rules?: unknown }).rules ?? {};
  if (typeof given !== "object" || given === null || Array.isArray(given))
    throw new ConfigError(`${file}: "rules" must map codes to "off", "warn" or "error"`);
  for (const [code, v] of Object.entries(given)) {
    const entry = (messages as Record<string, { severity: string }>)[code];
    if (!entry) {
      const s = suggest(code, Object.keys(messages));
      throw new ConfigError(`${file}: "${code}" is not a resnetc diagnostic code${s ? `; did you mean ${s}?` : ""}`);
    }
    const level = typeof v === "string" ? LEVELS[v] : undefined;
    if (!level) throw new ConfigError(`${file}: ${code} is set to ${JSON.stringify(v)}; use "off", "warn" or "error"`);
    if (entry.severity === "error" && level !== "error")
      throw new ConfigError(
        `${file}: ${code} is an error and cannot be set to "${level}" (only warnings can be turned off or down)`,
      );
    rules.set(code, level);
  }
  return { file, rules };
}

/** Drops the codes set to "off" and gives the others their configured severity. */
export function applyConfig(ds: readonly Diagnostic[], config: LintConfig): Diagnostic[] {
  if (config.rules.size === 0) return [...ds];
  const out: Diagnostic[] = [];
  for (const d of ds) {
    const level = config.rules.get(d.code);
    if (level === "off") continue;
    if (level === undefined) out.push(d);
    else out.push({ ...d, severity: level === "warn" ? "warning" : "error" });
  }
  return out;
}

/** Suppression comments (in the project's own files, not std/), then the config's severities:
 * what `resnetc check`, `lint`, `graph` and the programmatic API do to the compiler's diagnostics. */
export function postProcess(
  ds: readonly Diagnostic[],
  sources: ReadonlyMap<string, SourceFile>,
  cwd: string,
  config: LintConfig,
): Diagnostic[] {
  const own = (file: string): boolean => !isInside(stdDir, resolve(cwd, file));
  return applyConfig(applySuppressions(ds, sources, own), config);
}
