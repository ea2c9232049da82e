// Formats emitted TypeScript with prettier, so generated files read like hand-written ones and
// diff cleanly. Takes: source text. Gives: formatted text (deterministic for the same input).
import { format } from "prettier";

export const PRETTIER_OPTIONS = { parser: "typescript", printWidth: 120 } as const;

export function formatTs(text: string): Promise<string> {
  return format(text, PRETTIER_OPTIONS);
}
