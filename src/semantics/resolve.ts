// Name resolution over every definition, used or not.
// Takes: the loaded program (all files, imports included). Gives: diagnostics for duplicate
// definitions, unknown names (with "did you mean"), recursive blocks, misplaced statements, and
// the warnings unused block / shadowed name / unused let; plus the set of recursive blocks, which
// elaboration must not enter. Must not: evaluate expressions or look at shapes.

import type { Arg, Definition, Expr, FileAst, Stmt } from "../ast/ast.js";
import { diag, type Diagnostic, type Span } from "../diagnostics/diagnostic.js";
import type { CheckCache } from "./check-cache.js";
import { ATOMS, PARAM_TYPES, SCALAR_FUNCTIONS, suggest } from "./builtins.js";
import { allOpNames, lookupOp, lookupPartsOp, PARTS_OPS } from "./ops/index.js";

/** RN304's hint: an unused `let`'s layers reach no output, so the model leaves them out. */
const UNUSED_LET_HINT =
  "any layers it makes reach no output and are left out of the model: remove it, or prefix the name with `_`";

export interface Program {
  /** Root files first (the ones the user named), then imports in load order. */
  files: FileAst[];
  roots: ReadonlySet<string>;
  defs: Map<string, Definition>;
}

export interface ResolveResult {
  diagnostics: Diagnostic[];
  recursive: Set<string>;
}

type NameKind = "param" | "let" | "loop" | "input" | "dim";
interface Binding {
  kind: NameKind;
  span: Span;
  used: boolean;
}

class Scope {
  readonly names = new Map<string, Binding>();
  constructor(readonly parent?: Scope) {}
  lookup(n: string): Binding | undefined {
    for (let s: Scope | undefined = this; s; s = s.parent) {
      const b = s.names.get(n);
      if (b) return b;
    }
    return undefined;
  }
}

export function buildProgram(files: FileAst[], roots: ReadonlySet<string>): [Program, Diagnostic[]] {
  const defs = new Map<string, Definition>();
  const diagnostics: Diagnostic[] = [];
  for (const f of files)
    for (const d of f.definitions) {
      const prev = defs.get(d.name);
      if (prev)
        diagnostics.push(
          diag(
            "RN111",
            d.nameSpan,
            { name: d.name },
            { notes: [{ message: `first defined here`, span: prev.nameSpan }] },
          ),
        );
      else if (lookupOp(d.name) ?? lookupPartsOp(d.name))
        diagnostics.push(
          diag("RN111", d.nameSpan, { name: d.name }, { hint: `\`${d.name}\` is a built-in op; pick another name` }),
        );
      else defs.set(d.name, d);
    }
  return [{ files, roots, defs }, diagnostics];
}

export function resolve(program: Program, cache?: CheckCache): ResolveResult {
  const out: Diagnostic[] = [];
  const used = new Set<string>();
  const refs = new Map<string, Set<string>>();

  for (const file of program.files) {
    for (const def of file.definitions) {
      if (program.defs.get(def.name) !== def) continue; // a duplicate, already reported
      // A CheckCache (the language server's) keeps what a definition that resolved clean
      // referenced, with every name it looked up: reused while those mean the same.
      const kept = cache?.resolvedFor(def, program.defs);
      if (kept) {
        refs.set(def.name, new Set(kept.refs));
        for (const n of kept.refs) used.add(n);
        continue;
      }
      const outBefore = out.length;
      const lookups = new Map<string, Definition | undefined>();
      const lookup = (n: string): Definition | undefined => {
        const d = program.defs.get(n);
        lookups.set(n, d);
        return d;
      };
      const myRefs = new Set<string>();
      refs.set(def.name, myRefs);
      const top = new Scope();
      for (const p of def.params) {
        if (p.type !== undefined && !(p.type in PARAM_TYPES))
          out.push(
            diag(
              "RN110",
              p.typeSpan!,
              { kind: "type", name: p.type, ...optSuggest(p.type, Object.keys(PARAM_TYPES)) },
              { hint: `types: ${Object.keys(PARAM_TYPES).join(", ")}` },
            ),
          );
        if (def.kind === "model" && p.default === undefined)
          out.push(
            diag(
              "RN113",
              p.span,
              { op: `model ${def.name}`, arg: p.name },
              { hint: "a model's parameters need defaults: the model is built with them" },
            ),
          );
        else if (p.type === undefined && p.default === undefined)
          out.push(
            diag("RN115", p.span, {
              what: `parameter \`${p.name}\``,
              expected: "a type (`c: int`) or a default (`c = 64`)",
              found: "neither",
            }),
          );
        if (top.names.has(p.name)) out.push(diag("RN124", p.span, { name: p.name }));
        if (p.default) expr(p.default, top, false);
        top.names.set(p.name, { kind: "param", span: p.span, used: false });
      }
      stmts(def.body, new Scope(top), def);
      if (cache && out.length === outBefore) cache.resolved.set(def, { refs: [...myRefs], lookups: [...lookups] });

      function stmts(list: Stmt[], scope: Scope, d: Definition): void {
        for (const s of list) stmt(s, scope, d);
        for (const [n, b] of scope.names)
          if (b.kind === "let" && !b.used) out.push(diag("RN304", b.span, { name: n }, { hint: UNUSED_LET_HINT }));
      }

      function declare(scope: Scope, name: string, kind: NameKind, span: Span): void {
        if (scope.names.has(name)) {
          out.push(diag("RN124", span, { name }));
          return;
        }
        const outer = scope.parent?.lookup(name);
        if (outer && outer.kind !== "dim")
          out.push(
            diag(
              "RN302",
              span,
              { name },
              { notes: [{ message: "the outer name is declared here", span: outer.span }] },
            ),
          );
        scope.names.set(name, { kind, span, used: name.startsWith("_") });
      }

      function stmt(s: Stmt, scope: Scope, d: Definition): void {
        switch (s.kind) {
          case "input":
            if (d.kind !== "model")
              out.push(
                diag("RN125", s.span, {
                  what: "`input` is only allowed in a model; a block takes the tensor that flows into it",
                }),
              );
            for (const e of s.dims) dims(e, scope, "input");
            declare(scope, s.name, "input", s.nameSpan);
            scope.names.get(s.name)!.used = true;
            return;
          case "output":
            if (d.kind !== "model")
              out.push(
                diag("RN125", s.span, {
                  what: "`output` is only allowed in a model; a block's result is the value that flows out of it",
                }),
              );
            expr(s.value, scope, true);
            return;
          case "let":
            expr(s.value, scope, true);
            declare(scope, s.name, "let", s.nameSpan);
            return;
          case "assign": {
            expr(s.value, scope, true);
            const b = scope.lookup(s.name);
            if (!s.name)
              out.push(diag("RN125", s.nameSpan, { what: "only a name declared with `let` can be assigned to" }));
            else if (!b || b.kind !== "let") {
              out.push(diag("RN123", s.nameSpan, { name: s.name }));
              // No cascade of "unknown name".
              if (!b) scope.names.set(s.name, { kind: "let", span: s.nameSpan, used: true });
            }
            return;
          }
          case "expr":
            expr(s.expr, scope, true);
            return;
          case "expect":
            for (const e of s.dims) dims(e, scope, "expect");
            return;
          case "residual":
            for (const a of s.args) expr(a.value, scope, false, true);
            stmts(s.body, new Scope(scope), d);
            if (s.shortcut?.kind === "custom") stmts(s.shortcut.body, new Scope(scope), d);
            else if (s.shortcut) expr(s.shortcut.expr, scope, false, true);
            return;
          case "for": {
            expr(s.from, scope, false);
            expr(s.to, scope, false);
            const inner = new Scope(scope);
            declare(inner, s.var, "loop", s.varSpan);
            inner.names.get(s.var)!.used = true;
            stmts(s.body, new Scope(inner), d);
            return;
          }
          case "if":
            expr(s.cond, scope, false);
            stmts(s.then, new Scope(scope), d);
            if (s.else) stmts(s.else, new Scope(scope), d);
            return;
          case "stage":
            if (s.index) expr(s.index, scope, false);
            stmts(s.body, new Scope(scope), d);
            return;
        }
      }

      function dims(e: Expr, scope: Scope, where: "input" | "expect"): void {
        if (
          e.kind === "name" &&
          !scope.lookup(e.name) &&
          (e.name === "_" || where === "input" || /^[A-Z]/.test(e.name))
        ) {
          if (e.name !== "_") scope.names.set(e.name, { kind: "dim", span: e.span, used: true });
          return;
        }
        expr(e, scope, false);
      }

      /** Walks an expression with an explicit stack: a 10,000-term sum is a left-deep tree as
       * deep as it is long, and must not cost a call frame per term. Children are pushed in
       * reverse so they are visited in source order, as diagnostics were before. */
      function expr(root: Expr, scope: Scope, rootFlow: boolean, rootAtomsOk = false): void {
        const todo: [Expr, boolean, boolean][] = [[root, rootFlow, rootAtomsOk]];
        const push = (...items: [Expr, boolean, boolean][]): void => void todo.push(...items.reverse());
        for (let item = todo.pop(); item; item = todo.pop()) {
          const [e, flow, atomsOk] = item;
          exprNode(e, scope, flow, atomsOk, push);
        }
      }

      function exprNode(
        e: Expr,
        scope: Scope,
        flow: boolean,
        atomsOk: boolean,
        push: (...items: [Expr, boolean, boolean][]) => void,
      ): void {
        switch (e.kind) {
          case "name":
            name(e.name, e.span, scope, flow, atomsOk);
            return;
          case "list":
            push(...e.items.map((i): [Expr, boolean, boolean] => [i, flow, atomsOk]));
            return;
          case "unary":
            push([e.arg, flow, false]);
            return;
          case "binary":
            push([e.left, flow, false], [e.right, flow, false]);
            return;
          case "chain":
            push(...e.items.map((i): [Expr, boolean, boolean] => [i, true, false]));
            return;
          case "call":
            if (e.callee.kind === "name") {
              name(e.callee.name, e.callee.span, scope, flow, false, true);
              const op = scope.lookup(e.callee.name)
                ? undefined
                : (lookupOp(e.callee.name) ?? lookupPartsOp(e.callee.name));
              const block = lookup(e.callee.name);
              for (const a of e.args) arg(a, scope, op !== undefined || block !== undefined);
              if (op)
                for (const a of e.args)
                  if (a.name && !op.args.some((x) => x.name === a.name))
                    out.push(
                      diag(
                        "RN112",
                        a.nameSpan!,
                        { op: op.name, arg: a.name, known: op.args.map((x) => x.name).join(", ") || "no arguments" },
                        optHint(
                          a.name,
                          op.args.map((x) => x.name),
                        ),
                      ),
                    );
              if (block && block.kind === "block")
                for (const a of e.args)
                  if (a.name && !block.params.some((x) => x.name === a.name))
                    out.push(
                      diag(
                        "RN112",
                        a.nameSpan!,
                        {
                          op: block.name,
                          arg: a.name,
                          known: block.params.map((x) => x.name).join(", ") || "no arguments",
                        },
                        optHint(
                          a.name,
                          block.params.map((x) => x.name),
                        ),
                      ),
                    );
            } else {
              push([e.callee, true, false], ...e.args.map((a): [Expr, boolean, boolean] => [a.value, true, false]));
            }
            return;
          case "index":
            push([e.obj, flow, false], [e.index, false, false]);
            return;
          case "cond":
            push([e.cond, false, false], [e.then, flow, atomsOk], [e.else, flow, atomsOk]);
            return;
          case "named":
            push([e.inner, flow, atomsOk]);
            if (e.index) push([e.index, false, false]);
            return;
          case "residual":
            // Its body is statements; nesting is bounded by the parser's nesting limit.
            stmt(e.unit, scope, def);
            return;
          default:
            return;
        }
      }

      function arg(a: Arg, scope: Scope, atomsOk: boolean): void {
        expr(a.value, scope, true, atomsOk);
      }

      function name(n: string, span: Span, scope: Scope, _flow: boolean, atomsOk: boolean, called = false): void {
        const b = scope.lookup(n);
        if (b) {
          b.used = true;
          return;
        }
        const target = lookup(n);
        if (target) {
          if (target.kind === "model") {
            out.push(
              diag(
                "RN110",
                span,
                { kind: "block", name: n },
                { hint: `\`${n}\` is a model; only blocks can be used inside other definitions` },
              ),
            );
            return;
          }
          used.add(n);
          myRefs.add(n);
          return;
        }
        if (lookupOp(n) || lookupPartsOp(n) || n === "identity") return;
        if (called && SCALAR_FUNCTIONS.has(n)) return;
        if (!called && SCALAR_FUNCTIONS.has(n)) return;
        if (ATOMS.has(n) && (atomsOk || !called)) return;
        const blocks = [...program.defs.values()].filter((d) => d.kind === "block").map((d) => d.name);
        const candidates =
          n.length <= 2
            ? []
            : [...allOpNames(), ...PARTS_OPS.map((d) => d.name), ...blocks, ...allNames(scope), ...SCALAR_FUNCTIONS];
        const kind = called ? "op or block" : "name";
        out.push(diag("RN110", span, { kind, name: n, ...optSuggest(n, candidates) }));
      }
    }
  }

  // Recursive blocks: any cycle in the block reference graph.
  const recursive = new Set<string>();
  const state = new Map<string, 1 | 2>();
  // Depth-first with an explicit stack (`path`, each entry with its remaining references): a
  // chain of 10,000 blocks, each using the next, is as deep as it is long.
  const path: string[] = [];
  const pending: Iterator<string>[] = [];
  const enter = (n: string): void => {
    state.set(n, 1);
    path.push(n);
    pending.push((refs.get(n) ?? new Set<string>()).values());
  };
  const visit = (start: string): void => {
    enter(start);
    while (path.length) {
      const next = pending[pending.length - 1]!.next();
      if (next.done) {
        state.set(path.pop()!, 2);
        pending.pop();
        continue;
      }
      const m = next.value;
      if (state.get(m) === 1) {
        const cycle = path.slice(path.indexOf(m));
        for (const c of cycle) {
          if (recursive.has(c)) continue;
          recursive.add(c);
          const def = program.defs.get(c)!;
          const rot = [...cycle.slice(cycle.indexOf(c)), ...cycle.slice(0, cycle.indexOf(c)), c];
          out.push(
            diag(
              "RN117",
              def.nameSpan,
              { cycle: rot.join(" -> ") },
              { hint: "a block cannot instantiate itself, directly or through others; use `* n` or `for` to repeat" },
            ),
          );
        }
      } else if (!state.has(m)) enter(m);
    }
  };
  for (const n of [...refs.keys()].sort()) if (!state.has(n)) visit(n);

  // Unused blocks: reported in files that define a model (a library file's blocks are for others).
  for (const f of program.files) {
    if (!program.roots.has(f.file) || !f.definitions.some((d) => d.kind === "model")) continue;
    for (const d of f.definitions)
      if (d.kind === "block" && !used.has(d.name) && program.defs.get(d.name) === d)
        out.push(diag("RN301", d.nameSpan, { name: d.name }));
  }
  return { diagnostics: out, recursive };
}

function allNames(scope: Scope | undefined): string[] {
  const names: string[] = [];
  for (let s = scope; s; s = s.parent) names.push(...s.names.keys());
  return names;
}

function optSuggest(n: string, candidates: Iterable<string>): { suggestion?: string } {
  const s = suggest(n, candidates);
  return s ? { suggestion: s } : {};
}

function optHint(n: string, candidates: string[]): { hint?: string } {
  const s = suggest(n, candidates);
  return s ? { hint: `did you mean \`${s}\`?` } : {};
}
