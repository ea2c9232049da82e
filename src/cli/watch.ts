// `resnetc check --watch`: check, then check again whenever a file that was read changes.
// Takes: a function that runs one check and says which files it read. Gives: a promise of the
// last run's exit code, settled on SIGINT or SIGTERM. Must not: re-run more than once for a burst
// of events (editors write a file in several steps), or keep watching a folder no file needs.

import { watch, type FSWatcher } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

export interface WatchRun {
  code: number;
  /** Absolute paths of every file the run read (roots and imports), and of the config files
   * that would apply were they written. */
  files: string[];
  /** Folders given on the command line: a new .resnet file in them starts a run too. */
  folders: string[];
}

export function watchLoop(run: () => WatchRun, io: { err(s: string): void }, debounceMs = 150): Promise<number> {
  return new Promise((settle) => {
    let last = run();
    let watchers: FSWatcher[] = [];
    let timer: NodeJS.Timeout | undefined;
    let changed = new Set<string>();
    const arm = (): void => {
      for (const w of watchers) w.close();
      watchers = [];
      const files = new Set(last.files.map((f) => resolve(f)));
      const folders = new Set(last.folders.map((f) => resolve(f)));
      const dirs = new Set([...[...files].map((f) => dirname(f)), ...folders]);
      for (const dir of dirs) {
        try {
          const w = watch(dir, (_event, name) => {
            if (!name) return;
            const abs = join(dir, name.toString());
            if (!files.has(abs) && !(folders.has(dir) && abs.endsWith(".resnet"))) return;
            changed.add(basename(abs));
            clearTimeout(timer);
            timer = setTimeout(again, debounceMs);
          });
          w.on("error", () => w.close());
          watchers.push(w);
        } catch {
          // A folder that went away: the next run's files say what to watch.
        }
      }
      io.err("[watch] waiting for changes (Ctrl-C stops)");
    };
    const again = (): void => {
      io.err(`[watch] ${[...changed].sort().join(", ")} changed: checking again`);
      changed = new Set();
      last = run();
      arm();
    };
    const stop = (): void => {
      clearTimeout(timer);
      for (const w of watchers) w.close();
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      settle(last.code);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    arm();
  });
}
