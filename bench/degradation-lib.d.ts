// Types of degradation-lib.js for the TypeScript tests; see degradation-lib.js.
export type Curves = Record<string, number[]>;
export function netsFor(
  depths: number[],
  paperInit?: boolean,
): { key: string; model: string; kind: "plain" | "residual"; depth: number }[];
export function paperLr(base: number, step: number, steps: number): number;
export function tailMean(curve: number[], frac?: number): number;
export function smooth(curve: number[], w: number): number[];
export interface Orderings {
  tail_fraction: number;
  tails: Record<string, number>;
  pairs: { shallow: number; deep: number; plain: boolean; residual: boolean }[];
  plain_deeper_trains_worse: boolean;
  residual_deeper_at_least_as_good: boolean;
  holds: boolean;
}
export function orderings(curves: Curves, depths: number[], frac?: number): Orderings;
export function degradationSvg(o: {
  title: string;
  subtitle: string;
  curves: Curves;
  depths: number[];
  testErrors?: Record<string, number>;
  frac?: number;
}): string;
