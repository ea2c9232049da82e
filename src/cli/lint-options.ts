// Option errors answered the way eslint users expect: the command's own usage line and a
// "did you mean" for a mistyped option, instead of Node's parseArgs text; and the lint options
// that take a value (--max-warnings).
// Takes: parseArgs' error, the options the command accepts, its help text. Gives: a one-line
// message and the usage lines to print under it. Must not: print or exit (main.ts does).

import { suggest } from "../semantics/builtins.js";

type Spec = Record<string, { type: "string" | "boolean"; short?: string }>;

/** The message for a parseArgs error, with a suggestion for an unknown option; undefined when
 * the error is not one of parseArgs' own. */
export function optionErrorMessage(e: unknown, options: Spec): string | undefined {
  const code = (e as { code?: string }).code;
  const msg = (e as Error).message ?? "";
  const names = Object.keys(options).map((n) => `--${n}`);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const opt = /Unknown option '([^']+)'/.exec(msg)?.[1] ?? msg;
    const bare = opt.replace(/=.*$/, "");
    const s = bare.startsWith("--") ? suggest(bare, names) : undefined;
    return `unknown option ${bare}${s ? `; did you mean ${s}?` : ""}`;
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const opt = /Option '(?:-\w, )?(--[\w-]+)/.exec(msg)?.[1];
    if (opt && /argument missing/.test(msg)) return `${opt} needs a value`;
    if (opt && /does not take an argument/.test(msg)) return `${opt} takes no value`;
    return msg;
  }
  if (code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") return msg;
  return undefined;
}

/** The `usage:` lines at the top of a command's help text. */
export function usageLines(help: string): string {
  const lines = help.split("\n");
  const end = lines.findIndex((l) => l.trim() === "");
  return lines.slice(0, end < 0 ? lines.length : end).join("\n");
}

/** `--max-warnings N`: a count of zero or more (eslint's -1, "no limit", is the default). */
export function maxWarnings(v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^(-1|\d+)$/.test(v))
    throw new RangeError(`--max-warnings takes a count (0 or more), found ${String(v)}`);
  const n = Number(v);
  return n < 0 ? undefined : n;
}
