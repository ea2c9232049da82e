// Types of tsc-strict.js for the TypeScript tests; see tsc-strict.js.
export const TSC_STRICT_FLAGS: readonly string[];
export function tscStrict(files: readonly string[], repoRoot: string): { status: number | null; output: string };
