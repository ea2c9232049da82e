// Greedy minimisation of a failing program, so what is kept as a regression test is the few
// lines that matter.
// Takes: a program's text and a predicate "still fails the same way" (async). Gives: a shorter
// text for which the predicate still holds: chunks of lines deleted first, then chunks of tokens
// (halving the chunk size down to one, as in delta debugging), within an attempt and time budget.
// Must not: return a text the predicate rejected.

import { tokenize } from "./mutate.js";

async function shrink(units, glue, stillFails, budget) {
  let cur = units;
  for (let size = Math.max(1, Math.floor(cur.length / 2)); size >= 1; size = Math.floor(size / 2)) {
    for (let at = 0; at < cur.length && !budget.spent();) {
      const next = [...cur.slice(0, at), ...cur.slice(at + size)];
      if (next.length < cur.length && (await stillFails(next.join(glue)))) cur = next;
      else at += size;
    }
    if (budget.spent()) break;
  }
  return cur;
}

export async function minimise(text, stillFails, { attempts = 4000, seconds = 20 } = {}) {
  const start = performance.now();
  let tries = 0;
  const budget = { spent: () => tries >= attempts || performance.now() - start > seconds * 1000 };
  const counted = async (t) => (tries++, stillFails(t));
  // A program that passes nothing but the whole is kept whole.
  let lines = await shrink(text.split("\n"), "\n", counted, budget);
  // Comment-only and blank lines never matter to a failure about code.
  const bare = lines.filter((l) => l.trim() !== "" && !l.trim().startsWith("#"));
  if (bare.length < lines.length && (await counted(bare.join("\n")))) lines = bare;
  // Tokens go with the blanks after them, so the result keeps its line breaks and spacing and
  // reads like a program (a token deleted alone would glue its neighbours together).
  const units = [];
  for (const t of tokenize(lines.join("\n"))) {
    if ((t.kind === "space" || t.kind === "newline") && units.length) units[units.length - 1] += t.text;
    else units.push(t.text);
  }
  const out = await shrink(units, "", counted, budget);
  const tidy = out
    .join("")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .join("\n");
  return { text: (await counted(tidy)) ? tidy : out.join(""), attempts: tries };
}
