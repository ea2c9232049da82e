// Formats emitted TypeScript with prettier, so generated files read like hand-written ones and
// diff cleanly. Takes: source text. Gives: formatted text (deterministic for the same input).
// prettier is loaded on first use: every other command starts faster without it.

export const PRETTIER_OPTIONS = { parser: "typescript", printWidth: 120 } as const;

export async function formatTs(text: string): Promise<string> {
  const { format } = await import("prettier");
  return format(text, PRETTIER_OPTIONS);
}
