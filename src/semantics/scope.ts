// Environments (names -> values) and structural naming of graph nodes for the evaluator.
// Takes: nothing. Gives: `Env`, `Naming` and `NameTable`. Must not: evaluate or report.

import type { Span } from "../diagnostics/diagnostic.js";
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
  /** Names given in this scope (without the prefix): by a counter, and by `as` (with where). */
  private readonly counted = new Set<string>();
  private readonly written = new Map<string, Span>();
  private index = 0;
  constructor(
    readonly prefix: string,
    readonly indexed: boolean,
  ) {}
  next(base: string): string {
    if (this.indexed) return `${this.prefix}${this.index++}`;
    return this.prefix + this.count(base, base);
  }
  /** `base1`, `base2`, ...: the next counter name that no `as` in this scope has taken. (An op
   * and a block instance may share a counter name, `dense1` and `dense1.`, as they always could.) */
  private count(key: string, base: string): string {
    let n = this.counters.get(key) ?? 0;
    let local: string;
    do local = `${base}${++n}`;
    while (this.written.has(local));
    this.counters.set(key, n);
    this.counted.add(local);
    return local;
  }
  /** A block instance's name: counted apart from ops, so `block Dense` does not shift `dense1`. */
  nextBlock(base: string): string {
    if (this.indexed) return this.next(base);
    return this.prefix + this.count(`${base}\u0000`, base);
  }
  /** `base` the first time in this scope, then `base2`, `base3`: for shortcut sub-scopes. */
  unique(base: string): string {
    let n = this.counters.get(`${base}\u0001`) ?? 0;
    let local: string;
    do local = ++n === 1 ? base : `${base}${n}`;
    while (this.written.has(local));
    this.counters.set(`${base}\u0001`, n);
    this.counted.add(local);
    return this.prefix + local;
  }
  /**
   * A name written in the source (`dense(10) as fc`): the full name, or, when a layer of this
   * scope already has it, that layer's `as` (undefined for a counter name). Counter names skip
   * names written with `as`; an `as` never takes a name already given.
   */
  named(local: string, span: Span): string | { earlier: Span | undefined } {
    if (this.written.has(local) || this.counted.has(local)) return { earlier: this.written.get(local) };
    this.written.set(local, span);
    return this.prefix + local;
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
