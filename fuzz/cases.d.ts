// Types of cases.js for the TypeScript tests (test/fuzz.test.ts); see cases.js.
export function loadCorpus(repoRoot: string): Map<string, string>;
export function buildCase(corpus: ReadonlyMap<string, string>, seed: number, index: number): { files: Map<string, string>; root: string; origin: string; applied: string[] };
