// A readable text form of an ONNX model, for golden files and `resnetc compile --text`:
// one line per input, initializer (name and shape, not values), node and output.
// Takes: a ModelProto. Gives: a string. Must not: print.

import { commentText } from "../escape.js";
import { AttributeType, DataType, type AttributeProto, type ModelProto } from "./builder.js";

type Dim = { dimValue?: unknown; dimParam?: string | null };
const dims = (ds: Dim[] | null | undefined): string =>
  `[${(ds ?? []).map((d) => (d.dimParam ? d.dimParam : String(Number(d.dimValue ?? 0)))).join(", ")}]`;

function attr(a: AttributeProto): string {
  const T = AttributeType;
  switch (a.type) {
    case T.INT:
      return `${a.name}=${Number(a.i)}`;
    case T.INTS:
      return `${a.name}=[${(a.ints ?? []).map(Number).join(",")}]`;
    case T.FLOAT:
      return `${a.name}=${+(a.f ?? 0).toPrecision(7)}`;
    case T.STRING:
      return `${a.name}="${commentText(new TextDecoder().decode(a.s ?? new Uint8Array()))}"`;
    default:
      return `${a.name}=?`;
  }
}

export function modelText(m: ModelProto): string {
  const g = m.graph!;
  // Names and doc strings pass through commentText: one listing line per entry, whatever a
  // hostile model or file name holds (a newline would forge lines, an escape colour the terminal).
  const lines = [
    `model ${commentText(g.name ?? "")} (ir ${Number(m.irVersion)}, ` +
      `opset ${(m.opsetImport ?? []).map((o) => Number(o.version)).join(",")}, producer ${m.producerName})`,
  ];
  for (const i of g.input ?? []) lines.push(`input ${i.name}: float${dims(i.type?.tensorType?.shape?.dim as Dim[])}`);
  for (const t of g.initializer ?? [])
    lines.push(
      `init ${t.name}: ${t.dataType === DataType.INT64 ? "int64" : "float"}[${(t.dims ?? []).map(Number).join(", ")}]`,
    );
  const shapes = new Map((g.valueInfo ?? []).map((v) => [v.name, dims(v.type?.tensorType?.shape?.dim as Dim[])]));
  for (const n of g.node ?? []) {
    const out = (n.output ?? []).map((o) => `${o}${shapes.has(o) ? `: ${shapes.get(o)}` : ""}`).join(", ");
    const attrs = (n.attribute ?? []).map(attr).join(" ");
    lines.push(
      `node ${out} = ${n.opType}(${(n.input ?? []).join(", ")})${attrs ? ` ${attrs}` : ""}` +
        `${n.docString ? `  # ${commentText(n.docString)}` : ""}`,
    );
  }
  for (const o of g.output ?? []) lines.push(`output ${o.name}: float${dims(o.type?.tensorType?.shape?.dim as Dim[])}`);
  return lines.join("\n");
}
