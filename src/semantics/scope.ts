// Environments (names -> values) and structural naming of graph nodes for the evaluator.
// Takes: nothing. Gives: `Env`, `Naming` and `NameTable`. Must not: evaluate or report.

import type { Value } from "./values.js";

export class Env {
  private readonly vars = new Map<string, Value>();
  constructor(readonly parent?: Env) {}
  lookup(name: string): Value | undefined {
    // An explicit loop instead of recursion: environments nest as deep as blocks do.
    for (let e: Env | undefined = this; e; e = e.parent) {
      const v = e.vars.get(name);
      if (v !== undefined) return v;
    }
    return undefined;
  }
  declare(name: string, v: Value): void {
    this.vars.set(name, v);
  }
  /** Assigns to the innermost scope that declares `name`; false if none does. */
  assign(name: string, v: Value): boolean {
    for (let e: Env | undefined = this; e; e = e.parent)
      if (e.vars.has(name)) {
        e.vars.set(name, v);
        return true;
      }
    return false;
  }
}

/**
 * Names nodes after the model's structure, the way torchvision names modules:
 * ops in a block are `conv1, bn1, conv2, ...` (a counter per op); block instances outside a
 * stage are `basic1, basic2, ...` (a counter per block, apart from the ops'); blocks in a stage
 * are `layer1.0, layer1.1`; a projection shortcut is `downsample.0` (conv), `downsample.1` (bn),
 * a second one in the same scope `downsample2.0`. `indexed` scopes (stages, projections) number
 * every child 0, 1, 2, ... like nn.Sequential; a custom shortcut `{ ... }` is a plain scope
 * (`shortcut.conv1`).
 */
export class Naming {
  private readonly counters = new Map<string, number>();
  private index = 0;
  constructor(
    readonly prefix: string,
    readonly indexed: boolean,
  ) {}
  next(base: string): string {
    if (this.indexed) return `${this.prefix}${this.index++}`;
    const n = (this.counters.get(base) ?? 0) + 1;
    this.counters.set(base, n);
    return `${this.prefix}${base}${n}`;
  }
  /** A block instance's name: counted apart from ops, so `block Dense` does not shift `dense1`. */
  nextBlock(base: string): string {
    return this.next(`${base}\u0000`).replace("\u0000", "");
  }
  /** `base` the first time in this scope, then `base2`, `base3`: for shortcut sub-scopes. */
  unique(base: string): string {
    const n = (this.counters.get(`${base}\u0001`) ?? 0) + 1;
    this.counters.set(`${base}\u0001`, n);
    return `${this.prefix}${base}${n === 1 ? "" : n}`;
  }
  child(name: string, indexed: boolean): Naming {
    return new Naming(`${name}.`, indexed);
  }
}

/**
 * Makes layer names unique across a model: a name already taken gets `_2`, `_3`, ... The next
 * suffix to try is remembered per name, so 20,000 layers all named `s.0` cost 20,000 probes, not
 * 20,000^2 / 2 (the scan from `_2` every time took 134 s for 40,000). Each taken name is probed
 * at most once more by the one name it is a suffixed form of, so the work is linear overall.
 */
export class NameTable {
  private readonly taken = new Set<string>();
  private readonly nextSuffix = new Map<string, number>();
  /** Names tried so far (taken or not): what the linearity test counts. */
  probes = 0;
  /** Total length of the names handed out, for the name-size limit. */
  chars = 0;
  claim(name: string): string {
    let unique = name;
    let i = this.nextSuffix.get(name) ?? 2;
    for (this.probes++; this.taken.has(unique); this.probes++) unique = `${name}_${i++}`;
    if (unique !== name) this.nextSuffix.set(name, i);
    this.taken.add(unique);
    this.chars += unique.length;
    return unique;
  }
}
