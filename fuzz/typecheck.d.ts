// Types of typecheck.js for the TypeScript tests (test/fuzz.test.ts); see typecheck.js.
export function typecheck(samples: ReadonlyMap<number, Record<string, string>>, dir: string, repoRoot: string): Map<number, string>;
