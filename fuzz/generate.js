// Programs generated from the grammar: the fuzzer's second source, which reaches the emitters
// and ONNX Runtime far more often than mutations do (most mutated programs are errors).
// Takes: a random stream. Gives: the text of one file with blocks and a model built from the op
// set, with random but mostly valid arguments: the generator tracks shapes with the textbook
// rules (PyTorch's output-size formula), so most programs check, and sometimes picks an edge
// argument (an axis out of range, padding as large as the window, ceil mode, an odd size) on
// purpose. Must not: use the compiler's shape rules (the oracle compares resnetc's shapes with
// ONNX Runtime's; a generator that agreed with resnetc by construction would hide nothing).

/** A shape is [C, ...spatial] (rank 3-5 tensors) or [F] after flatten, plus the batch N. */
const convOut = (h, k, s, p, d) => Math.floor((h + 2 * p - d * (k - 1) - 1) / s) + 1;

export function generate(r) {
  const blocks = [];
  const lines = [];
  let blockCount = 0;
  const rank = r.weighted([
    [6, 2],
    [2, 1],
    [1, 3],
    [1, 0],
  ]); // spatial dims; 0 = features [N, F]
  const symbolic = rank > 0 && r.chance(0.15);
  let shape =
    rank === 0
      ? [r.pick([4, 8, 16, 30])]
      : [r.pick([1, 3, 4, 8]), ...Array(rank).fill(r.pick(rank === 3 ? [4, 6, 8] : [5, 7, 8, 12, 16, 32]))];
  const dimText = (d, i) => (symbolic && i > 0 ? "S" : String(d));
  lines.push(`  input x: f32[N, ${shape.map(dimText).join(", ")}]`);
  let exact = !symbolic; // known sizes: expect statements and size-dependent choices are safe
  const spatial = () => shape.length > 1;
  const sizes = () => shape.slice(1);
  const small = () => r.pick([1, 2, 3, 4, 6, 8, 16]);

  const window = (maxK) => {
    const k = r.int(1, Math.max(1, Math.min(maxK, ...sizes())));
    return r.chance(0.1) ? k + r.int(0, 2) : k;
  };

  /** One stage: its text, and the shape after it (undefined: unknown, stop tracking sizes). */
  const stage = () => {
    const c = shape[0];
    const choices = [
      [2, "act"],
      [1, "norm"],
      [spatial() ? 4 : 0, "conv"],
      [spatial() ? 1 : 0, "dwconv"],
      [spatial() ? 2 : 0, "pool"],
      [1, "scale"],
      [spatial() ? 1 : 0, "shape"],
      [spatial() ? 0.5 : 0, "flatten"],
      [spatial() ? 0.2 : 2, "dense"],
      [1, "softmax"],
      [0.5, "reg"],
    ];
    switch (r.weighted(choices)) {
      case "act":
        return r.pick([
          "relu",
          "gelu",
          "silu",
          "swish",
          "sigmoid",
          "tanh",
          "hardswish",
          "leaky",
          "leaky(0.2)",
          "prelu",
          spatial() ? "prelu(per_channel=true)" : "prelu",
        ]);
      case "norm":
        if (!spatial()) return "layernorm";
        return r.pick([
          "bn",
          "bn(gamma=zeros)",
          "layernorm",
          `groupnorm(${[1, 2, 4].filter((g) => c % g === 0).pop()})`,
          r.chance(0.1) ? "groupnorm(3)" : "bn",
        ]);
      case "softmax": {
        const rankAll = shape.length + 1;
        const axis = r.chance(0.85) ? r.int(1, rankAll - 1) : r.pick([0, -1, rankAll, rankAll + 1]);
        return `softmax(axis=${axis})`;
      }
      case "reg":
        return r.pick(["dropout", "dropout(0.1)", "drop_path(0.2)", "scale(0.1)", "gate", "shift", "layerscale"]);
      case "scale":
        return r.pick(["scale(0.5)", "gate(0)", "layerscale(1e-5)", "identity"]);
      case "conv": {
        const k = window(5);
        const s = r.pick([1, 1, 2, 3]);
        const d = k > 1 && r.chance(0.15) ? 2 : 1;
        const pad = r.weighted([
          [5, "auto"],
          [1, "same"],
          [1, "valid"],
          [1, String(r.int(0, 3))],
        ]);
        const out = small();
        const groups = r.chance(0.15) ? ([2, 4].find((g) => c % g === 0 && out % g === 0) ?? 1) : 1;
        const p =
          pad === "auto"
            ? Math.floor((d * (k - 1)) / 2)
            : pad === "valid"
              ? 0
              : pad === "same"
                ? undefined
                : Number(pad);
        const op = r.pick(["conv", "conv", `conv${sizes().length}d`, "sepconv"]);
        const args = [
          String(out),
          `k=${k}`,
          ...(s > 1 ? [`stride=${s}`] : []),
          ...(pad !== "auto" ? [`padding=${pad}`] : []),
          ...(d > 1 ? [`dilation=${d}`] : []),
          ...(groups > 1 && op !== "sepconv" ? [`groups=${groups}`] : []),
          ...(r.chance(0.1) ? [`bias=${r.pick(["true", "false"])}`] : []),
        ];
        shape = [out, ...sizes().map((h) => (p === undefined ? Math.ceil(h / s) : convOut(h, k, s, p, d)))];
        return `${op}(${args.join(", ")})`;
      }
      case "dwconv": {
        const k = window(3);
        const m = r.pick([1, 1, 2]);
        shape = [c * m, ...sizes().map((h) => convOut(h, k, 1, Math.floor((k - 1) / 2), 1))];
        return `dwconv(k=${k}${m > 1 ? `, multiplier=${m}` : ""})`;
      }
      case "pool": {
        const k = window(3);
        const s = r.pick([0, 1, 2]);
        const stride = s || k;
        const ceil = r.chance(0.25);
        const pad = r.chance(0.2) ? r.int(0, k) : undefined;
        const op = r.pick(["maxpool", "avgpool", "maxpool", `maxpool${sizes().length}d`]);
        if (r.chance(0.15)) {
          shape = [c, ...sizes().map(() => 1)];
          return r.pick(["gap", "avgpool"]);
        }
        const p = pad ?? Math.floor((k - 1) / 2);
        shape = [
          c,
          ...sizes().map((h) =>
            ceil ? Math.ceil((h + 2 * p - k) / stride) + 1 : Math.floor((h + 2 * p - k) / stride) + 1,
          ),
        ];
        return (
          `${op}(k=${k}${s ? `, stride=${s}` : ""}${pad !== undefined ? `, padding=${pad}` : ""}` +
          `${ceil ? ", ceil=true" : ""})`
        );
      }
      case "shape":
        return r.weighted([
          [
            2,
            () => (
              (shape = [c, ...sizes().map((h) => h * 2)]),
              r.pick(["upsample", "upsample(2)", "upsample(2, mode=linear)"])
            ),
          ],
          [1, () => (c % 4 === 0 ? ((shape = [c / 4, ...sizes().map((h) => h * 2)]), "pixel_shuffle(2)") : "identity")],
          [
            1,
            () => {
              const perm = [
                0,
                1,
                ...sizes()
                  .map((_, i) => i + 2)
                  .reverse(),
              ];
              shape = [c, ...sizes().reverse()];
              return `transpose([${perm.join(", ")}])`;
            },
          ],
          [
            1,
            () => {
              const n = shape.reduce((a, b) => a * b, 1);
              shape = [c, n / c];
              return r.chance(0.5) ? `reshape([${c}, -1])` : `reshape([${c}, ${n / c}])`;
            },
          ],
        ])();
      case "flatten":
        shape = [shape.reduce((a, b) => a * b, 1)];
        return "flatten";
      case "dense": {
        const out = small();
        shape = [...shape.slice(0, -1), out];
        if (shape.length === 1) shape = [out];
        return `${r.pick(["dense", "linear"])}(${out})`;
      }
    }
    return "relu";
  };

  const pipeline = (n) => Array.from({ length: n }, stage).join(" ");

  const statement = () => {
    const before = shape;
    const kind = r.weighted([
      [5, "pipe"],
      [2, "residual"],
      [1, "let"],
      [1, "block"],
      [1, "stage"],
      [1, "repeat"],
      [exact ? 1 : 0, "expect"],
      [0.5, "for"],
    ]);
    switch (kind) {
      case "pipe":
        return pipeline(r.int(1, 4));
      case "residual": {
        const merge = r.weighted([
          [6, ""],
          [1, "merge=concat"],
          [1, "merge=mul"],
          [0.3, "merge=and"],
          [0.3, "merge=iand"],
        ]);
        const mods = [
          merge,
          ...(r.chance(0.3) ? [r.pick(["scale=0.1", "gate=0", "layerscale=1e-5", "drop_path=0.1"])] : []),
        ].filter(Boolean);
        const body = pipeline(r.int(1, 3));
        const sc = r.pick(["auto", "auto", "identity", "pad", "project", "avgproject", "none", "{ bn }"]);
        if (merge === "merge=concat" && shape.length === before.length)
          shape = [shape[0] + before[0], ...shape.slice(1)];
        return `residual${mods.length ? `(${mods.join(", ")})` : ""} { ${body} } shortcut ${sc}`;
      }
      case "let": {
        const body = pipeline(r.int(1, 2));
        const merged = shape.join() === before.join();
        const op = r.pick(["+", "*"]);
        const line =
          `let a${lines.length} = ` + `identity\n  ${body}${merged || r.chance(0.2) ? ` ${op} a${lines.length}` : ""}`;
        return line;
      }
      case "block": {
        const name = `B${++blockCount}`;
        const bodyStart = shape;
        const body = pipeline(r.int(1, 3));
        const after = shape;
        // The block's first conv width becomes a parameter, used once.
        blocks.push(
          `block ${name}(c: int = ${bodyStart[0]}, sc: shortcut = auto) ` +
            `{\n  ${r.chance(0.5) ? `residual { ${body} } shortcut sc` : body}\n}`,
        );
        shape = after;
        return r.chance(0.5) ? name : `${name}(sc=${r.pick(["auto", "pad", "project", "none"])})`;
      }
      case "stage":
        return `stage ${r.pick(["layer1", "layer2", "s", "conv1", "x", "output"])} { ${pipeline(r.int(1, 3))} }`;
      case "repeat":
        // A shape-preserving stage repeated: * binds tighter than juxtaposition.
        return `${r.pick(["relu", "bn", "(bn relu)", "identity", "scale(0.5)", "gate"])} * ${r.pick([0, 1, 2, 3, 10])}`;
      case "expect":
        return `expect [N, ${shape.map((d) => (r.chance(0.15) ? "_" : d)).join(", ")}]`;
      case "for": {
        const times = r.int(0, 3);
        const unit = spatial() ? `conv(${shape[0]}, k=1)` : `dense(${shape[0]})`;
        return `for i in 1..${times} { ${r.pick(["relu", "bn relu", "gate", `residual { ${unit} }`])} }`;
      }
    }
    return "relu";
  };

  const n = r.int(1, 7);
  for (let i = 0; i < n; i++) {
    lines.push(`  ${statement()}`);
    if (shape.some((d) => !Number.isInteger(d) || d <= 0)) exact = false;
  }
  if (r.chance(0.3))
    lines.push(
      `  output ${r.pick(["logits", "y", "out"])} = ${shape.length > 1 && r.chance(0.5) ? "gap flatten" : "identity"}`,
    );
  if (r.chance(0.1)) lines.push(`  output ${r.pick(["z", "x", "logits"])} = x ${r.pick(["relu", "bn", "flatten"])}`);
  return `${blocks.join("\n\n")}${blocks.length ? "\n\n" : ""}model Gen {\n${lines.join("\n")}\n}\n`;
}
