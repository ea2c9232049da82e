// Types of oracle.js for the TypeScript tests (test/fuzz.test.ts); see oracle.js for what each does.
export type FailureKind = "internalError" | "slow" | "invalidOnnx" | "shapeDisagreement" | "tsTypeError" | "oversized";
export interface Failure {
  kind: FailureKind;
  message: string;
  signature: string;
}
export interface CaseResult {
  outcome: "ok" | "diagnostics" | FailureKind;
  failure?: Failure;
  seconds: number;
  graphs: number;
  skippedOrt: number;
  skippedEmit: number;
  ts?: { "model.ts": string; "train.ts": string };
}
export const SLOW_SECONDS: number;
export function memoryHost(files: ReadonlyMap<string, string>): import("../dist/index.js").Host;
export function runCase(files: ReadonlyMap<string, string>, root: string, options?: { ort?: boolean; keepTs?: boolean; pick?: number }): Promise<CaseResult>;
