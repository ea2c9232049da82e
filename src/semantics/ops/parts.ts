// Ops that cut one tensor into a list of parts along an axis: `chunk(n)` (n equal parts) and
// `split([a, b, c])` (parts of the given sizes), channels by default (Res2Net, Gao et al. 2019).
// They give no IR node themselves: indexing the list (`xs[i]`) adds one `slice` node per part used.
// Takes: the input shape and checked args. Gives: the axis and [start, end) of every part.
// Must not: build nodes or know about values (the elaborator indexes the list).

import { dimStr, isConst, shapeStr } from "../../ir/dims.js";
import { checkAxis } from "./common.js";
import type { ArgSpec, InferCtx } from "./registry.js";

export interface Parts {
  /** Non-negative axis. */
  axis: number;
  /** [start, end) of each part along `axis`. */
  bounds: [number, number][];
}

export interface PartsDef {
  name: string;
  summary: string;
  args: readonly ArgSpec[];
  parts(ctx: InferCtx): Parts | undefined;
}

const AXIS: ArgSpec = { name: "axis", type: "int", default: 1, doc: "axis (channels by default)" };

/** The size along the checked axis, which must be a known number. */
function axisSize(ctx: InferCtx): { axis: number; size: number } | undefined {
  const s = ctx.inputs[0]!;
  const axis = checkAxis(ctx, "axis", s.length);
  if (axis === undefined) return undefined;
  const size = s[axis]!;
  if (!isConst(size))
    return ctx.error(
      "RN208",
      {
        op: ctx.op,
        detail: `dim ${axis} of ${shapeStr(s)} must be a known number to cut it, found \`${dimStr(size)}\``,
      },
      "give the input a concrete size in this dimension",
    );
  return { axis, size };
}

export const PARTS_OPS: readonly PartsDef[] = [
  {
    name: "chunk",
    summary: "cut into `n` equal parts along `axis` (channels by default); a list indexed with `[i]`",
    args: [{ name: "n", type: "int", positional: true, doc: "number of parts" }, AXIS],
    parts: (ctx) => {
      const n = ctx.args["n"] as number;
      if (n < 1) return ctx.error("RN204", { what: `${ctx.op} n`, found: String(n) });
      const a = axisSize(ctx);
      if (!a) return undefined;
      if (a.size % n !== 0)
        return ctx.error(
          "RN205",
          { what: ctx.op, detail: `${a.size} (dim ${a.axis}) does not divide into ${n} equal parts` },
          "use `split([...])` for parts of different sizes",
        );
      const w = a.size / n;
      return { axis: a.axis, bounds: Array.from({ length: n }, (_, i): [number, number] => [i * w, (i + 1) * w]) };
    },
  },
  {
    name: "split",
    summary: "cut into parts of the given sizes along `axis` (channels by default); a list indexed with `[i]`",
    args: [{ name: "sizes", type: "ints", positional: true, doc: "size of each part" }, AXIS],
    parts: (ctx) => {
      const given = ctx.args["sizes"] as number | number[];
      const sizes = typeof given === "number" ? [given] : given;
      for (const s of sizes) if (s < 1) return ctx.error("RN204", { what: `${ctx.op} size`, found: String(s) });
      const a = axisSize(ctx);
      if (!a) return undefined;
      const total = sizes.reduce((x, y) => x + y, 0);
      if (total !== a.size)
        return ctx.error("RN210", {
          op: ctx.op,
          sizes: `[${sizes.join(", ")}]`,
          total: String(total),
          size: `${a.size} (dim ${a.axis} of ${shapeStr(ctx.inputs[0]!)})`,
        });
      let start = 0;
      const bounds = sizes.map((s): [number, number] => [start, (start += s)]);
      return { axis: a.axis, bounds };
    },
  },
];

export function lookupPartsOp(name: string): PartsDef | undefined {
  return PARTS_OPS.find((d) => d.name === name);
}
