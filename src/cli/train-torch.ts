// `resnetc train FILE --engine torch [--nproc N] [--python PATH] [--keep DIR] [training options]`: writes
// model.py (the `--target torch` emitter's) and train.py (emitTrainPy) into a folder and runs
// `python3 train.py` there with the training options, on a Python that has torch and numpy.
// Takes: the checked model, the emitted model.py text, the options after the file. Gives: train.py's
// exit code (0 ok, 1 bad data or options, 3 diverged, 130/143 interrupted), or EXIT_USAGE with one
// line when no Python with torch is found. Must not: install anything, run a Python that was not
// probed for torch first, or leave its temporary folder behind.

import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { writeFolderAtomic } from "../io/atomic-write.js";
import { emitTrainPy } from "../emit/torch/train-py.js";

/** The launcher's options, taken out of the training options before train.py sees the rest. */
export interface TorchLaunch {
  python?: string;
  keep?: string;
  rest: string[];
}

export const TORCH_TRAIN_HELP = `--engine torch: train with PyTorch instead of tfjs. model.py (as
\`compile --target torch\` writes it) and train.py are written to a temporary folder (--keep DIR:
to DIR, and kept) and run with \`python3 train.py OPTIONS\` in this folder. That needs a Python
with torch (>= 1.13) and numpy: --python PATH, else the first with torch of $RESNETC_PYTHON,
/usr/bin/python3, python3 and python.
The training options are tfjs's (same defaults, data order, augmentation, schedule and checkpoint
files, which predict --weights and --resume read), plus:
  --nproc N            N data-parallel processes here (torch.multiprocessing.spawn; one per GPU,
                       else on the CPU with gloo); --batch is each process's batch
  --device auto|cpu|cuda   (default auto: CUDA when torch sees a GPU)
  --amp, --no-amp      mixed precision (default: on with CUDA)
  --no-sync-bn         batch norm statistics per process (default: of the whole step's batch)
  --weights DIR|FILE   start from a checkpoint folder or a .safetensors file
  --threads N          CPU threads per process
Several machines: write the program once (\`resnetc compile FILE --target torch -o DIR\`, or
--keep DIR), copy DIR to every node and start on each (node R of 2, 8 GPUs each):
  torchrun --nnodes 2 --nproc_per_node 8 --node_rank R --master_addr HOST0 --master_port 29500 \\
      DIR/train.py --data DATA --out runs/X
train.py takes RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from torchrun's
environment (any launcher that sets them will do); rank 0 writes the checkpoints and logs.`;

/** Takes --python PATH and --keep DIR out of the options; the rest go to train.py unchanged. */
export function splitLaunchOptions(args: readonly string[]): TorchLaunch | string {
  const rest: string[] = [];
  const out: TorchLaunch = { rest };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const eq = /^--(python|keep)=(.*)$/.exec(a);
    if (eq) {
      out[eq[1] as "python" | "keep"] = eq[2]!;
      continue;
    }
    if (a === "--python" || a === "--keep") {
      const v = args[i + 1];
      if (v === undefined || v.startsWith("--")) return `${a} needs a value`;
      out[a.slice(2) as "python" | "keep"] = v;
      i++;
      continue;
    }
    rest.push(a);
  }
  return out;
}

/** The Pythons tried, in order: the one named, $RESNETC_PYTHON, Debian's, then whatever PATH has. */
export function pythonCandidates(named: string | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  if (named !== undefined) return [named];
  const list = [env["RESNETC_PYTHON"], "/usr/bin/python3", "python3", "python"].filter(
    (p): p is string => typeof p === "string" && p !== "",
  );
  return [...new Set(list)];
}

/** The first candidate that imports torch and numpy, with torch's version; or why none did. */
export function findTorchPython(candidates: readonly string[]): { python: string; torch: string } | { why: string } {
  const tried: string[] = [];
  for (const py of candidates) {
    const r = spawnSync(py, ["-c", "import numpy, torch; print(torch.__version__)"], {
      encoding: "utf8",
      timeout: 120_000,
    });
    if (r.status === 0) return { python: py, torch: r.stdout.trim() };
    const reason = r.error
      ? (r.error as NodeJS.ErrnoException).code === "ENOENT"
        ? "not found"
        : r.error.message
      : (/(No module named [^\n]+)/.exec(r.stderr)?.[1] ?? `exit code ${r.status}`);
    tried.push(`${py} (${reason})`);
  }
  return {
    why:
      `train --engine torch needs a Python with torch (>= 1.13) and numpy; tried ${tried.join(", ")}. ` +
      `Install them (pip install torch numpy) or name one with --python PATH`,
  };
}

/** Writes model.py + train.py to DIR (atomically) or a temporary folder and runs train.py; gives its exit code. */
export async function runTorchTraining(opts: {
  modelPy: string;
  model: string;
  version: string;
  launch: TorchLaunch;
  cwd: string;
  out(s: string): void;
  err(s: string): void;
  env?: NodeJS.ProcessEnv;
}): Promise<number | { usage: string }> {
  const found = findTorchPython(pythonCandidates(opts.launch.python, opts.env ?? process.env));
  if ("why" in found) return { usage: found.why };
  const dir = opts.launch.keep ? resolve(opts.cwd, opts.launch.keep) : mkdtempSync(join(tmpdir(), "resnetc-torch-"));
  try {
    writeFolderAtomic(dir, {
      "model.py": opts.modelPy,
      "train.py": emitTrainPy({ model: opts.model, version: opts.version }),
    });
    if (opts.launch.keep) opts.out(`${dir}: model.py, train.py (python ${found.python}, torch ${found.torch})`);
    return await new Promise<number>((done) => {
      const child = spawn(found.python, [join(dir, "train.py"), ...opts.launch.rest], {
        cwd: opts.cwd,
        env: { ...(opts.env ?? process.env), PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
        stdio: ["inherit", "pipe", "pipe"],
      });
      const lines = (write: (s: string) => void) => {
        let buf = "";
        return {
          data: (d: Buffer) => {
            buf += String(d);
            const parts = buf.split("\n");
            buf = parts.pop()!;
            for (const p of parts) write(p);
          },
          end: () => buf && write(buf),
        };
      };
      const o = lines(opts.out);
      const e = lines(opts.err);
      child.stdout.on("data", o.data);
      child.stderr.on("data", e.data);
      // SIGINT reaches train.py too (one process group): it saves and exits 130; this process waits for it.
      const ignore = () => {};
      process.on("SIGINT", ignore);
      child.on("close", (code, signal) => {
        process.off("SIGINT", ignore);
        o.end();
        e.end();
        done(code ?? (signal === "SIGTERM" ? 143 : 130));
      });
      child.on("error", (err) => {
        opts.err(`resnetc: cannot start ${found.python}: ${err.message}`);
        done(2);
      });
    });
  } finally {
    if (!opts.launch.keep) rmSync(dir, { recursive: true, force: true });
  }
}
