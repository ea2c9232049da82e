// The one table of every diagnostic resnetc can report.
// Takes: nothing. Gives: for each stable code, its severity and a typed message template.
// Must not: be edited to renumber a code. Codes are a public contract (CI logs, SARIF rule ids,
// suppressions); retire a code rather than reuse it. `docs/diagnostics.md` is checked against
// this table by a test.

export type Severity = "error" | "warning";

interface Entry<A> {
  severity: Severity;
  /** One line, shown in `docs/diagnostics.md` and as the SARIF rule description. */
  summary: string;
  message: (a: A) => string;
}

function def<A = Record<string, never>>(severity: Severity, summary: string, message: (a: A) => string): Entry<A> {
  return { severity, summary, message };
}

export const messages = {
  // RN0xx: reading files
  RN001: def<{ path: string; reason: string }>(
    "error",
    "a file cannot be read",
    (a) => `cannot read ${a.path}: ${a.reason}`,
  ),
  RN002: def<{ path: string }>(
    "error",
    "a file is binary, not .resnet text",
    (a) => `${a.path} is a binary file, not .resnet source`,
  ),
  RN003: def("error", "a file is empty", () => "empty file: expected at least one `block` or `model` definition"),
  RN004: def<{ path: string }>(
    "error",
    "an imported file does not exist",
    (a) => `cannot import "${a.path}": no such file`,
  ),
  RN005: def<{ path: string; reason: string }>(
    "error",
    "an import outside the project or the standard library",
    (a) => `cannot import "${a.path}": ${a.reason}`,
  ),
  RN006: def<{ path: string; reason: string }>(
    "error",
    "an import of something other than a regular .resnet file",
    (a) => `cannot import "${a.path}": ${a.reason}`,
  ),
  RN007: def<{ path: string; reason: string }>(
    "error",
    "checking a file stopped on a bug in resnetc (the other files are still checked)",
    (a) =>
      `resnetc could not finish checking ${a.path} (${a.reason}): this is a bug in resnetc, please report it ` +
      `with this file`,
  ),

  // RN1xx: syntax
  RN101: def<{ char: string }>(
    "error",
    "a character that is not part of the language",
    (a) => `unexpected character ${a.char}`,
  ),
  RN102: def<{ expected: string; found: string }>(
    "error",
    "the parser expected something else",
    (a) => `expected ${a.expected}, found ${a.found}`,
  ),
  RN103: def("error", "a string is not closed on its line", () => "unterminated string"),
  RN104: def<{ found: string }>(
    "error",
    "a token after the end of a definition",
    (a) => `expected \`block\`, \`model\` or \`import\` at top level, found ${a.found}`,
  ),

  // RN11x-RN17x: names, arguments, types and values
  RN110: def<{ kind: string; name: string; suggestion?: string }>(
    "error",
    "a name is not defined",
    (a) => `unknown ${a.kind} \`${a.name}\`${a.suggestion ? `; did you mean \`${a.suggestion}\`?` : ""}`,
  ),
  RN111: def<{ name: string }>("error", "a block or model is defined twice", (a) => `\`${a.name}\` is already defined`),
  RN112: def<{ op: string; arg: string; known: string }>(
    "error",
    "an argument an operation does not take",
    (a) => `${a.op} has no argument \`${a.arg}\` (it takes: ${a.known})`,
  ),
  RN113: def<{ op: string; arg: string }>(
    "error",
    "a required argument is missing",
    (a) => `${a.op}: missing required argument \`${a.arg}\``,
  ),
  RN114: def<{ op: string; max: number; found: number }>(
    "error",
    "too many positional arguments",
    (a) => `${a.op} takes at most ${a.max} positional argument${a.max === 1 ? "" : "s"}, found ${a.found}`,
  ),
  RN115: def<{ what: string; expected: string; found: string }>(
    "error",
    "a value of the wrong type",
    (a) => `${a.what}: expected ${a.expected}, found ${a.found}`,
  ),
  RN116: def<{ op: string; arg: string }>(
    "error",
    "an argument given twice",
    (a) => `${a.op}: argument \`${a.arg}\` given twice`,
  ),
  RN117: def<{ cycle: string }>("error", "a block that instantiates itself", (a) => `recursive block: ${a.cycle}`),
  RN118: def<{ what: string; detail: string }>(
    "error",
    "an arithmetic error in a parameter expression",
    (a) => `${a.what}: ${a.detail}`,
  ),
  RN119: def<{ what: string; value: string }>(
    "error",
    "a value outside its allowed range",
    (a) => `${a.what} must be ${a.value}`,
  ),
  RN120: def<{ name: string }>(
    "error",
    "no tensor flows into an operation",
    (a) =>
      `\`${a.name}\` has no input: a model with several inputs must name the one it uses (e.g. \`let y = ` +
      `x ${a.name}\`)`,
  ),
  RN121: def<{ name: string }>(
    "error",
    "a tensor used where a number is needed",
    (a) => `\`${a.name}\` is a tensor, not a number`,
  ),
  RN122: def<{ name: string }>("error", "a model without input", (a) => `model \`${a.name}\` declares no \`input\``),
  RN123: def<{ name: string }>(
    "error",
    "assignment to a name that was never declared with `let`",
    (a) => `cannot assign to \`${a.name}\`: declare it first with \`let ${a.name} = ...\``,
  ),
  RN124: def<{ name: string }>(
    "error",
    "a name declared twice in the same scope",
    (a) => `\`${a.name}\` is already declared in this scope`,
  ),
  RN125: def<{ what: string }>("error", "a statement in the wrong place", (a) => `${a.what}`),
  RN127: def<{ found: string }>(
    "error",
    "a number (or other non-tensor) where a tensor is needed",
    (a) => `expected a tensor, found ${a.found}`,
  ),
  RN126: def<{ name: string; available: string }>(
    "error",
    "`--model` names no model in the file",
    (a) => `no model named \`${a.name}\` (models here: ${a.available})`,
  ),
  RN128: def<{ kind: "input" | "output"; name: string; taken: string }>(
    "error",
    "an input or output name that is already taken",
    (a) => `${a.kind} name \`${a.name}\` is already taken by ${a.taken}`,
  ),
  RN129: def<{ name: string }>("error", "a model without output", (a) => `model \`${a.name}\` has no output`),
  RN130: def<{ name: string; scope: string }>(
    "error",
    "a layer name (`as NAME`) used twice in one scope",
    (a) => `layer name \`${a.name}\` is already taken in ${a.scope}`,
  ),
  RN131: def<{ name: string; detail: string }>(
    "error",
    "`as NAME` on something that is not an op or block call (or `as _` on an op)",
    (a) => `\`as ${a.name}\` ${a.detail}`,
  ),
  RN132: def<{ found: string }>(
    "error",
    "`share` before something that is not a block",
    (a) => `\`share\` makes one set of parameters for a block, found ${a.found}`,
  ),

  // RN2xx: shapes
  RN201: def<{ merge: string; branch: string; shortcut: string }>(
    "error",
    "residual merge of mismatched shapes",
    (a) => `residual ${a.merge}: branch gives ${a.branch}, shortcut gives ${a.shortcut}`,
  ),
  RN202: def<{ op: string; detail: string }>("error", "tensors that cannot be combined", (a) => `${a.op}: ${a.detail}`),
  RN203: def<{ op: string; kernel: string; input: string }>(
    "error",
    "a kernel larger than its (padded) input",
    (a) => `${a.op}: kernel ${a.kernel} is larger than the padded input ${a.input}`,
  ),
  RN204: def<{ what: string; found: string }>(
    "error",
    "a dimension that is zero or negative",
    (a) => `${a.what} must be positive, found ${a.found}`,
  ),
  RN205: def<{ what: string; detail: string }>(
    "error",
    "a division of dimensions that does not divide",
    (a) => `${a.what}: ${a.detail}`,
  ),
  RN206: def<{ expected: string; found: string }>(
    "error",
    "an `expect` that does not hold",
    (a) => `expect failed: expected ${a.expected}, found ${a.found}`,
  ),
  RN207: def<{ op: string; expected: string; found: string }>(
    "error",
    "an input of the wrong rank",
    (a) => `${a.op}: expected ${a.expected}, found ${a.found}`,
  ),
  RN208: def<{ op: string; detail: string }>(
    "error",
    "channels that do not fit an operation",
    (a) => `${a.op}: ${a.detail}`,
  ),
  RN209: def<{ detail: string }>(
    "error",
    "a shortcut that cannot reach the branch's shape",
    (a) => `shortcut: ${a.detail}`,
  ),
  RN210: def<{ op: string; sizes: string; total: string; size: string }>(
    "error",
    "parts of a split that do not add up to the dimension they cut",
    (a) => `${a.op}: sizes ${a.sizes} add up to ${a.total}, not ${a.size}`,
  ),
  RN211: def<{ name: string; detail: string }>(
    "error",
    "a shared block applied where its layers would need other parameters",
    (a) => `shared block \`${a.name}\` cannot be applied here: ${a.detail}`,
  ),

  // RN3xx: warnings
  RN301: def<{ name: string }>("warning", "a block that nothing uses", (a) => `block \`${a.name}\` is never used`),
  RN302: def<{ name: string }>("warning", "a name that hides another", (a) => `\`${a.name}\` shadows an outer name`),
  RN303: def<{ norm: string }>(
    "warning",
    "a bias that the following normalisation cancels",
    (a) => `this conv's bias is cancelled by the following ${a.norm}: drop \`bias=true\``,
  ),
  RN304: def<{ name: string }>("warning", "a `let` value that is never used", (a) => `\`${a.name}\` is never used`),
  RN305: def("warning", "a statement whose result is discarded", () => "this value is computed and then discarded"),
  RN306: def<{ code: string; which: string }>(
    "warning",
    "a `# resnetc-disable-...` comment that suppresses nothing",
    (a) => `\`${a.which} ${a.code}\` suppresses nothing: no ${a.code} is reported on that line`,
  ),
  RN307: def<{ detail: string }>(
    "warning",
    "a `# resnetc-disable-...` comment without a code it can suppress",
    (a) => a.detail,
  ),

  // RN4xx: limits (so absurd programs fail fast instead of hanging or running out of memory)
  RN401: def<{ what: string; value: string; limit: string }>(
    "error",
    "a count over resnetc's limit",
    (a) => `${a.what} ${a.value} exceeds the limit of ${a.limit}`,
  ),
  RN402: def<{ limit: number }>(
    "error",
    "a model with too many layers",
    (a) => `the model expands to more than ${a.limit} layers`,
  ),
  RN403: def<{ limit: number }>(
    "error",
    "blocks nested too deeply",
    (a) => `blocks nest more than ${a.limit} levels deep`,
  ),
  RN404: def<{ limit: number }>(
    "error",
    "brackets, braces or prefix operators nested too deeply in the source",
    (a) => `nesting deeper than ${a.limit} levels (brackets, braces, \`-\`/\`not\`, \`when\` and \`else if\` count)`,
  ),
  RN405: def<{ limit: number }>(
    "error",
    "a model whose statements and expressions nest too deeply once its blocks are expanded",
    (a) => `statements and expressions nest more than ${a.limit} levels deep once blocks are expanded`,
  ),
  RN406: def<{ what: string; limit: string }>(
    "error",
    "generated code over its size limit",
    (a) => `the generated ${a.what} would exceed ${a.limit}`,
  ),

  // RN5xx: emitting (ONNX, TypeScript)
  RN501: def<{ op: string; needed: number; opset: number }>(
    "error",
    "an op that does not exist in the requested opset",
    (a) => `${a.op} needs opset ${a.needed} or later; the requested opset is ${a.opset}`,
  ),
  RN502: def<{ opset: number; min: number; max: number }>(
    "error",
    "an opset resnetc cannot emit",
    (a) => `opset ${a.opset} is not supported: choose ${a.min} to ${a.max}`,
  ),
  RN503: def<{ op: string; target: string; others: number }>(
    "error",
    "an op that the target cannot express",
    (a) =>
      `${a.op} cannot be emitted to ${a.target}` +
      (a.others ? ` (nor can ${a.others} more like it in this model)` : ""),
  ),

  // RN6xx: checkpoints (--weights)
  RN601: def<{ path: string; reason: string }>(
    "error",
    "a checkpoint that cannot be read",
    (a) => `cannot read checkpoint ${a.path}: ${a.reason}`,
  ),
  RN602: def<{ name: string }>(
    "error",
    "a parameter the checkpoint lacks",
    (a) => `checkpoint has no tensor \`${a.name}\``,
  ),
  RN603: def<{ name: string; expected: string; found: string }>(
    "error",
    "a checkpoint tensor of the wrong shape",
    (a) => `checkpoint tensor \`${a.name}\` has shape ${a.found}, the model needs ${a.expected}`,
  ),
  RN604: def<{ count: number; names: string }>(
    "warning",
    "checkpoint tensors the model does not use",
    (a) => `the checkpoint has ${a.count} tensor${a.count === 1 ? "" : "s"} the model does not use: ${a.names}`,
  ),
  RN605: def<{ name: string }>(
    "error",
    "a checkpoint value that is not finite",
    (a) => `checkpoint tensor \`${a.name}\` contains NaN or infinite values`,
  ),
} as const;

export type Code = keyof typeof messages;
export type MessageArgs<C extends Code> = Parameters<(typeof messages)[C]["message"]>[0];
