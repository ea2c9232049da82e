// `resnetc lint --fix`: the fixes that are mechanical, applied to the source files atomically.
// Takes: diagnostics, the sources they point into, and which files may be written. Gives: the
// edits, and after applying them, what was fixed in which file. Must not: write a file that
// changed on disk since it was checked, a file of the standard library or outside the project
// (the caller says which are writable), or apply two edits that overlap.
//
// Fixes today: RN303 (a conv's `bias=true` that the following normalisation cancels): drop the
// argument, with the comma that joined it to its neighbour.

import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Diagnostic, SourceFile } from "../diagnostics/diagnostic.js";
import { writeFileAtomic } from "../io/atomic-write.js";

export interface Edit {
  file: string;
  start: number;
  end: number;
  text: string;
  code: string;
}

/** The edit that fixes `d`, when there is exactly one mechanical way to. */
export function fixOf(d: Diagnostic, sources: ReadonlyMap<string, SourceFile>): Edit | undefined {
  const src = sources.get(d.span.file);
  if (!src) return undefined;
  if (d.code === "RN303") {
    const text = src.text.slice(d.span.start, d.span.end);
    // Only a literal `bias=true` written at this call; one passed down through a block parameter
    // is the caller's business.
    const hits = [...text.matchAll(/bias\s*=\s*true\b/g)];
    if (hits.length !== 1) return undefined;
    const h = hits[0]!;
    let start = d.span.start + h.index;
    let end = start + h[0].length;
    const before = /,\s*$/.exec(src.text.slice(d.span.start, start));
    const after = /^\s*,\s*/.exec(src.text.slice(end, d.span.end));
    if (before) start -= before[0].length;
    else if (after) end += after[0].length;
    return { file: d.span.file, start, end, text: "", code: d.code };
  }
  return undefined;
}

export interface Fixed {
  file: string;
  codes: string[];
}

/**
 * Applies the edits file by file (each file written atomically), skipping files `writable`
 * refuses, files changed since they were read, and edits overlapping an earlier one.
 */
export function applyEdits(
  edits: readonly Edit[],
  sources: ReadonlyMap<string, SourceFile>,
  cwd: string,
  writable: (file: string) => boolean,
): { fixed: Fixed[]; skipped: string[] } {
  const byFile = new Map<string, Edit[]>();
  for (const e of edits) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
  const fixed: Fixed[] = [];
  const skipped: string[] = [];
  for (const [file, list] of byFile) {
    const src = sources.get(file);
    if (!src || !writable(file)) {
      skipped.push(`${file}: not a file of this project`);
      continue;
    }
    const abs = resolve(cwd, file);
    let now: string;
    try {
      now = readFileSync(abs, "utf8");
    } catch {
      skipped.push(`${file}: cannot be read again`);
      continue;
    }
    if (now !== src.text) {
      skipped.push(`${file}: it changed while it was checked`);
      continue;
    }
    const sorted = [...list].sort((a, b) => a.start - b.start);
    const chosen: Edit[] = [];
    for (const e of sorted) if (!chosen.length || e.start >= chosen[chosen.length - 1]!.end) chosen.push(e);
    let text = src.text;
    for (const e of [...chosen].reverse()) text = text.slice(0, e.start) + e.text + text.slice(e.end);
    writeFileAtomic(abs, text);
    fixed.push({ file, codes: chosen.map((e) => e.code) });
  }
  return { fixed, skipped };
}
