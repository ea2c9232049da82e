// The PyTorch emitter: the graphs of one .resnet file -> `model.py`, an nn.Module class per model
// (named as the model) with one class per distinct block instantiation, parameters and BN buffers
// named exactly as the ONNX initializers and resnetc's checkpoints (so load_state_dict(strict=True)
// takes a resnetc checkpoint, or torchvision's state_dict where the example mirrors torchvision),
// and the declared initialisation of src/weights/init.ts as torch.nn.init calls.
// Takes: checked graphs. Gives: the text of model.py, formatted as it is written (4-space indent,
// lines within 120 columns, ASCII only, the same bytes for the same input). Must not: touch files,
// or place user text in the output except through ./python.ts.
//
// The contract the training program (train.py) relies on: MODELS maps each model's name to its
// class; a class constructs with no arguments and initialises its parameters as declared (from
// torch's global generator: the caller seeds it); forward takes the declared inputs positionally
// (the ONNX layout) and returns one tensor, or a tuple in declared output order; class attributes
// INPUTS and OUTPUTS list (name, shape without the batch dim, None for a symbolic dim) and
// NUM_CLASSES is the size of a first output [N, C], else None.

import type { Diagnostic } from "../../diagnostics/diagnostic.js";
import type { BlockInstance, Graph, GraphIO, IrNode, OpName } from "../../ir/ir.js";
import { instanceChildren } from "../../ir/ir.js";
import { paramSpecs, type ParamSpec } from "../../weights/init.js";
import { torchLowerings, type TorchLowering } from "./lower.js";
import { PRELUDE, PRELUDE_NAMES } from "./prelude.js";
import { fitLine, isPlainAttr, pyComment, pyNum, pyPath, PyIdents, pyStr } from "./python.js";

export interface TorchOptions {
  /** `file:line:col` of a span, for the comments that say where each block comes from. */
  locate?: (span: IrNode["span"]) => string;
  version?: string;
}

export interface TorchResult {
  files?: { "model.py": string };
  diagnostics: Diagnostic[];
}

const I1 = "    ";
const I2 = "        ";

/** One torch.nn.init call for a parameter or buffer at expression `t`. */
function initCall(t: string, p: ParamSpec): string {
  const i = p.init;
  if (i.kind === "normal") return `nn.init.normal_(${t}, 0.0, ${pyNum(i.std)})`;
  if (i.kind === "uniform") return `nn.init.uniform_(${t}, ${pyNum(-i.bound)}, ${pyNum(i.bound)})`;
  return `nn.init.constant_(${t}, ${pyNum(i.value)})`;
}

/** The Python of one scope (a model or a block class): what __init__ builds and forward computes. */
interface Scope {
  strip: string;
  /** The scope's module path from the model ("" or "body.0."): a node's state_dict prefix. */
  prefix: string;
  /** Paths registered here, so a second instance of the same name (a later use of a shared
   * block) gets a key of its own. */
  taken: Set<string>;
  vars: Map<number, string>;
  idents: PyIdents;
  /** Relative paths that are _Group holders (made by _put), so `[0]` may index them. */
  groups: Set<string>;
  build: string[];
  init: string[];
  forward: string[];
  /** A direct child is named `training`: the class keeps nn.Module's flag apart from it. */
  training: boolean;
}

function newScope(strip: string, prefix: string, input?: [number, string]): Scope {
  const s: Scope = {
    strip,
    prefix,
    taken: new Set(),
    vars: new Map(),
    idents: new PyIdents("v_", ["x"]),
    groups: new Set(),
    build: [],
    init: [],
    forward: [],
    training: false,
  };
  if (input) s.vars.set(input[0], input[1]);
  return s;
}

/** `self.rel = value`, or `_put(self, "rel", value)` for a dotted or unusual name. */
function register(s: Scope, rel: string, value: string): void {
  s.taken.add(rel);
  const parts = rel.split(".");
  for (let i = 1; i < parts.length; i++) s.groups.add(parts.slice(0, i).join("."));
  if (rel === "training") s.training = true;
  if (parts.length === 1 && isPlainAttr(rel)) s.build.push(`self.${rel} = ${value}`);
  else s.build.push(`_put(self, ${pyStr(rel)}, ${value})`);
}

const shapeTuple = (io: GraphIO): string => {
  const dims = io.shape.slice(1).map((d) => (typeof d === "number" ? pyNum(d) : "None"));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
};

function classText(name: string, comments: string[], attrs: string[], s: Scope, args: string[]): string {
  const lines = [`class ${name}(nn.Module):`, ...comments.flatMap((c) => pyComment(I1, c)), ""];
  if (attrs.length) lines.push(...attrs.flatMap((a) => fitLine(I1, a)), "");
  lines.push(`${I1}def __init__(self):`, `${I2}super().__init__()`);
  lines.push(...s.build.flatMap((l) => fitLine(I2, l)));
  if (s.init.length) {
    lines.push(`${I2}# The declared initialisation (resnetc's src/weights/init.ts).`);
    lines.push(...s.init.flatMap((l) => fitLine(I2, l)));
  }
  if (s.training)
    lines.push(
      "",
      `${I1}def __setattr__(self, name, value):`,
      `${I2}# A child named \`training\` (a legal layer name): nn.Module's own flag goes around it.`,
      `${I2}if name == "training" and isinstance(value, bool):`,
      `${I2}    object.__setattr__(self, name, value)`,
      `${I2}else:`,
      `${I2}    super().__setattr__(name, value)`,
    );
  lines.push("", ...fitLine(I1, `def forward(self, ${args.join(", ")}):`));
  lines.push(...s.forward.flatMap((l) => fitLine(I2, l)));
  return lines.join("\n");
}

/**
 * model.py for the graphs of one file. Block classes with the same text are shared across
 * instances and models; class names come from the block and model names through PyIdents.
 */
export function emitTorch(graphs: readonly Graph[], o: TorchOptions = {}): TorchResult {
  const classes: string[] = [];
  const byBody = new Map<string, string>();
  // Model classes first, named as the models where Python allows; block classes after.
  const classIdents = new PyIdents("", PRELUDE_NAMES);
  const modelClass = graphs.map((g) => classIdents.fresh(g.name));
  const models: string[] = [];

  graphs.forEach((g, gi) => {
    const children = instanceChildren(g.blocks);
    // Later uses of shared layers: [their module path, the node whose module they use].
    const links: [string, number][] = [];
    /** Module path of each node that holds parameters, from the model. */
    const pathOf = new Map<number, string>();

    function nodeStatement(n: IrNode, s: Scope): string {
      const lowering = torchLowerings[n.op] as TorchLowering<OpName>;
      const rel = n.name.slice(s.strip.length);
      let mod = "";
      if (lowering.build) {
        if (n.shares === undefined) {
          register(s, rel, lowering.build(n));
          pathOf.set(n.id, s.prefix + rel);
          const built = lowering.built?.(n) ?? {};
          for (const p of paramSpecs(n)) {
            const suffix = p.name === n.name ? "" : p.name.slice(n.name.length + 1);
            if (p.init.kind === "const" && built[suffix] === p.init.value) continue;
            const path = p.name.slice(s.strip.length);
            s.init.push(initCall(pyPath("self", path, s.groups), p));
          }
        } else {
          // A later use of a shared block: the first use's module, linked once the model is built.
          const parts = rel.split(".");
          for (let i = 1; i < parts.length; i++) s.groups.add(parts.slice(0, i).join("."));
          links.push([s.prefix + rel, n.shares]);
        }
        mod = pyPath("self", rel, s.groups, n.shares !== undefined);
      }
      const ins = n.inputs.map((id) => s.vars.get(id) ?? "None");
      const expr = lowering.call({ node: n, ins, mod });
      const v = s.idents.fresh(rel);
      s.forward.push(`${v} = ${expr}`);
      return v;
    }

    function body(start: number, end: number, kids: readonly BlockInstance[], s: Scope): void {
      let k = 0;
      for (let i = start; i < end; i++) {
        const kid = kids[k];
        if (kid && kid.start === i) {
          let rel = kid.name.slice(s.strip.length);
          // A later use of a shared block has its first use's name; its module holds no parameters
          // (they are linked), so a key no .resnet name can have keeps state_dict unchanged.
          for (let k = 2; s.taken.has(rel); k++) rel = `${kid.name.slice(s.strip.length)}@${k}`;
          const cls = blockClass(kid, s.prefix + rel + ".");
          register(s, rel, `${cls}()`);
          const v = s.idents.fresh(rel);
          s.forward.push(`${v} = ${pyPath("self", rel, s.groups)}(${s.vars.get(kid.input) ?? "None"})`);
          s.vars.set(kid.output, v);
          i = kid.end - 1;
          k++;
          continue;
        }
        const n = g.nodes[i]!;
        s.vars.set(n.id, nodeStatement(n, s));
      }
      // Identity blocks (no nodes) pass their input through.
      for (; k < kids.length; k++) s.vars.set(kids[k]!.output, s.vars.get(kids[k]!.input)!);
    }

    function blockClass(b: BlockInstance, prefix: string): string {
      const s = newScope(`${b.name}.`, prefix, [b.input, "x"]);
      body(b.start, b.end, children.get(b) ?? [], s);
      s.forward.push(`return ${s.vars.get(b.output) ?? "x"}`);
      const key = `${b.block}\n${s.build.join("\n")}\n${s.init.join("\n")}\n${s.forward.join("\n")}`;
      const known = byBody.get(key);
      if (known) return known;
      const name = classIdents.fresh(b.block);
      byBody.set(key, name);
      const where = o.locate ? `, ${o.locate(b.span)}` : "";
      classes.push(classText(name, [`${b.block}(${b.args})${where}`], [], s, ["x"]));
      return name;
    }

    const s = newScope("", "");
    const args = g.inputs.map((io) => {
      const v = s.idents.fresh(io.name);
      s.vars.set(io.node, v);
      return v;
    });
    const first = g.nodes.findIndex((n) => n.op !== "input");
    if (first >= 0) body(first, g.nodes.length, children.get(null) ?? [], s);
    for (const [path, owner] of links)
      s.build.push(`_link(self, ${pyStr(path)}, _get(self, ${pyStr(pathOf.get(owner) ?? g.nodes[owner]!.name)}))`);
    const outs = g.outputs.map((io) => s.vars.get(io.node) ?? "None");
    s.forward.push(`return ${outs.length === 1 ? outs[0] : `(${outs.join(", ")})`}`);
    const out0 = g.outputs[0]?.shape;
    const classesOf = out0 && out0.length === 2 && typeof out0[1] === "number" ? pyNum(out0[1]) : "None";
    const io = (xs: readonly GraphIO[]): string =>
      `[${xs.map((x) => `(${pyStr(x.name)}, ${shapeTuple(x)})`).join(", ")}]`;
    const attrs = [`INPUTS = ${io(g.inputs)}`, `OUTPUTS = ${io(g.outputs)}`, `NUM_CLASSES = ${classesOf}`];
    const comment = `Model ${g.name} of ${g.file}: ${g.params.toLocaleString("en-US")} learnable parameters.`;
    models.push(classText(modelClass[gi]!, [comment], attrs, s, args));
  });

  const files = [...new Set(graphs.map((g) => g.file))].join(", ");
  const header = [
    ...pyComment("", `Generated by resnetc${o.version ? ` ${o.version}` : ""} from ${files}. DO NOT EDIT:`),
    "# change the .resnet file and run `resnetc compile --target torch` again.",
    "# Needs torch >= 1.13. MODELS maps each model's name to its nn.Module class; parameter names are",
    "# resnetc's (its ONNX initializers and checkpoints), so load_state_dict(strict=True) takes them.",
  ];
  const registry = ["MODELS = {", ...graphs.flatMap((g, i) => fitLine(I1, `${pyStr(g.name)}: ${modelClass[i]},`)), "}"];
  const text = [header.join("\n"), PRELUDE.trimEnd(), ...classes, ...models, registry.join("\n")].join("\n\n\n");
  return { files: { "model.py": `${text}\n` }, diagnostics: [] };
}
