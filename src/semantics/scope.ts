// Environments (names -> values) and structural naming of graph nodes for the evaluator.
// Takes: nothing. Gives: `Env` and `Naming`. Must not: evaluate or report.

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
 * ops in a block are `conv1, bn1, conv2, ...`; blocks in a stage are `layer1.0, layer1.1`;
 * a projection shortcut is `downsample.0` (conv), `downsample.1` (bn).
 * `indexed` scopes (stages, shortcuts) number every child 0, 1, 2, ... like nn.Sequential.
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
  child(name: string, indexed: boolean): Naming {
    return new Naming(`${name}.`, indexed);
  }
}
