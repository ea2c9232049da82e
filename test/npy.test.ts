// .npy reading and writing (src/io/npy.ts): round trips, files numpy wrote (when Debian's python3
// has numpy), numpy reading what we write, and a clear one-line message for every file refused.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { encodeNpy, NpyError, parseNpy, readNpy, writeNpy } from "../src/io/npy.js";

const dir = mkdtempSync(join(tmpdir(), "resnetc-npy-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const PYTHON = "/usr/bin/python3";
function numpyMissing(): string | undefined {
  try {
    execFileSync(PYTHON, ["-c", "import numpy"], { stdio: "pipe" });
    return undefined;
  } catch {
    return `${PYTHON} has no numpy`;
  }
}
const noNumpy = numpyMissing();
const py = (code: string): string => execFileSync(PYTHON, ["-c", code], { cwd: dir, encoding: "utf8" });

/** A .npy file made by hand: magic, version, header length, header text (padded), data. */
function craft(header: string, data: Uint8Array = new Uint8Array(), major = 1, minor = 0): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const text = Buffer.from(header.padEnd(Math.ceil((pre + header.length + 1) / 64) * 64 - pre - 1, " ") + "\n");
  const out = new Uint8Array(pre + text.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, minor]);
  const v = new DataView(out.buffer);
  if (major === 1) v.setUint16(8, text.length, true);
  else v.setUint32(8, text.length, true);
  out.set(text, pre);
  out.set(data, pre + text.length);
  return out;
}
const f4 = (...xs: number[]): Uint8Array => new Uint8Array(new Float32Array(xs).buffer);
const rejects = (bytes: Uint8Array, message: RegExp): void => {
  let err: unknown;
  try {
    parseNpy(bytes, "t.npy");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(NpyError);
  expect((err as Error).message).toMatch(/^t\.npy: /);
  expect((err as Error).message).toMatch(message);
  expect((err as Error).message).not.toContain("\n");
};

describe(".npy round trips", () => {
  for (const shape of [[], [3], [2, 3], [2, 3, 4, 5], [0, 4]]) {
    it(`shape [${shape.join(", ")}]`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3 - 0.5);
      const bytes = encodeNpy(shape, data);
      // numpy's layout: version 1.0, data aligned to 64 bytes, header ending in a newline.
      expect(bytes[6]).toBe(1);
      const hlen = bytes[8]! | (bytes[9]! << 8);
      expect((10 + hlen) % 64).toBe(0);
      expect(bytes[10 + hlen - 1]).toBe(0x0a);
      const back = parseNpy(bytes);
      expect(back.shape).toEqual(shape);
      expect(back.dtype).toBe("<f4");
      expect(Array.from(back.data)).toEqual(Array.from(data));
    });
  }

  it("writeNpy writes atomically and readNpy reads it back", () => {
    const p = join(dir, "rt.npy");
    writeNpy(p, [2, 2], Float32Array.of(1, -2, 3.5, Number.NaN));
    const a = readNpy(p);
    expect(a.shape).toEqual([2, 2]);
    expect(Array.from(a.data)).toEqual([1, -2, 3.5, Number.NaN]);
    expect(() => encodeNpy([3], Float32Array.of(1))).toThrow(/holds 3 values, not 1/);
  });

  it("reads hand-made version 2.0 and 3.0 headers, double quotes and a missing trailing comma", () => {
    const a = parseNpy(craft(`{"descr": "<f4", "fortran_order": False, "shape": (2,)}`, f4(1, 2), 2));
    expect(Array.from(a.data)).toEqual([1, 2]);
    const b = parseNpy(craft(`{'descr': '<f4', 'fortran_order': False, 'shape': (), }`, f4(7), 3));
    expect(b.shape).toEqual([]);
    expect(Array.from(b.data)).toEqual([7]);
  });
});

describe(`files numpy wrote${noNumpy ? ` (skipped: ${noNumpy})` : ""}`, () => {
  it.skipIf(noNumpy !== undefined)("float32, float64, int32, int64, and version 2.0 and 3.0 headers", () => {
    py(`
import numpy as np
a = (np.arange(24).reshape(2, 3, 4) * 0.37 - 3).astype(np.float32)
np.save("f4.npy", a)
np.save("f8.npy", a.astype(np.float64) / 7)
np.save("i4.npy", np.arange(-5, 7, dtype=np.int32).reshape(3, 4))
np.save("i8.npy", np.arange(-5, 7, dtype=np.int64).reshape(3, 4) * 1000000)
np.save("scalar.npy", np.float32(2.5))
with open("v2.npy", "wb") as f: np.lib.format.write_array(f, a, version=(2, 0))
with open("v3.npy", "wb") as f: np.lib.format.write_array(f, a, version=(3, 0))
`);
    const expected = Float32Array.from({ length: 24 }, (_, i) => Math.fround(Math.fround(i * 0.37) - 3));
    const f4a = readNpy(join(dir, "f4.npy"));
    expect(f4a.shape).toEqual([2, 3, 4]);
    // numpy computes i * 0.37 - 3 in float64, then rounds once: within one float32 ulp.
    for (const [i, v] of f4a.data.entries()) expect(Math.abs(v - expected[i]!)).toBeLessThan(1e-6);
    const f8 = readNpy(join(dir, "f8.npy"));
    expect(f8.dtype).toBe("<f8");
    for (const [i, v] of f8.data.entries()) expect(Math.abs(v - f4a.data[i]! / 7)).toBeLessThan(1e-6);
    expect(Array.from(readNpy(join(dir, "i4.npy")).data)).toEqual(Array.from({ length: 12 }, (_, i) => i - 5));
    const i8 = readNpy(join(dir, "i8.npy"));
    expect(i8.shape).toEqual([3, 4]);
    expect(Array.from(i8.data)).toEqual(Array.from({ length: 12 }, (_, i) => (i - 5) * 1e6));
    expect(readNpy(join(dir, "scalar.npy")).shape).toEqual([]);
    for (const v of ["v2.npy", "v3.npy"]) expect(Array.from(readNpy(join(dir, v)).data)).toEqual(Array.from(f4a.data));
  });

  it.skipIf(noNumpy !== undefined)("numpy reads what writeNpy writes", () => {
    writeNpy(join(dir, "ours.npy"), [2, 3], Float32Array.of(0.5, -1, 2, 3, 4, 0.1));
    const r = py(`
import numpy as np
a = np.load("ours.npy")
print(a.dtype, a.shape, a.flags["C_CONTIGUOUS"], a.ravel().tolist())
`);
    expect(r.trim()).toBe(`float32 (2, 3) True [0.5, -1.0, 2.0, 3.0, 4.0, ${Math.fround(0.1)}]`);
  });

  it.skipIf(noNumpy !== undefined)(
    "numpy's fortran-order, big-endian, object and structured arrays are refused",
    () => {
      py(`
import numpy as np
np.save("fortran.npy", np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)))
np.save("big.npy", np.arange(6, dtype=">f4"))
np.save("object.npy", np.array([1, "a", None], dtype=object), allow_pickle=True)
np.save("record.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
np.save("bool.npy", np.zeros(3, dtype=bool))
`);
      const msg = (f: string): string => {
        try {
          readNpy(join(dir, f), { shownAs: f });
        } catch (e) {
          expect(e).toBeInstanceOf(NpyError);
          return (e as Error).message;
        }
        throw new Error(`${f} was accepted`);
      };
      expect(msg("fortran.npy")).toMatch(/^fortran\.npy: it is in Fortran \(column-major\) order; .*ascontiguousarray/);
      expect(msg("big.npy")).toMatch(/^big\.npy: it holds big-endian '>f4' values/);
      expect(msg("object.npy")).toMatch(/^object\.npy: it holds Python objects/);
      expect(msg("record.npy")).toMatch(/^record\.npy: structured \(record\) dtypes are not supported/);
      expect(msg("bool.npy")).toMatch(/^bool\.npy: its dtype '\|b1' is not supported/);
    },
  );
});

describe(".npy files refused, each with its reason", () => {
  const ok = `{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }`;
  it("not a .npy file, or a version this reader does not know", () => {
    rejects(new TextEncoder().encode("hello, world"), /not a \.npy file \(it does not start with \\x93NUMPY\)/);
    rejects(new Uint8Array(3), /not a \.npy file/);
    rejects(craft(ok, f4(1, 2), 4), /\.npy format version 4\.0 is not supported/);
    rejects(craft(ok, f4(1, 2), 1, 1), /version 1\.1 is not supported/);
  });

  it("a header that runs past the file, is too long, or lacks its newline", () => {
    const b = craft(ok, f4(1, 2));
    new DataView(b.buffer).setUint16(8, 60000, true);
    rejects(b, /the header says it is 60000 bytes long, but the file ends after/);
    const c = craft(ok, f4(1, 2), 2);
    new DataView(c.buffer).setUint32(8, 0x7fffffff, true);
    rejects(c, /the header is 2147483647 bytes long, more than the 1048576 allowed/);
    const d = craft(ok, f4(1, 2));
    d[d.length - 9] = 0x20; // the newline before the data
    rejects(d, /the header does not end with a newline/);
  });

  it("a header that is not the dict numpy writes", () => {
    rejects(craft("descr: <f4", f4()), /the header is not a Python dict literal/);
    rejects(craft(`{'descr': '<f4', 'shape': (2,), }`, f4(1, 2)), /the header has no 'fortran_order'/);
    rejects(craft(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}`, f4(1, 2)), /cannot parse/);
    rejects(
      craft(`{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': True}`, f4(1, 2)),
      /unknown keys: extra/,
    );
    rejects(
      craft(`{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}`, f4(1, 2)),
      /names 'descr' twice/,
    );
    rejects(craft(`{'descr': '<f4', 'fortran_order': 0, 'shape': (2,)}`, f4(1, 2)), /cannot parse/);
    rejects(craft(`{'descr': '<f4', 'fortran_order': False, 'shape': (2.5,)}`, f4(1, 2)), /whole numbers/);
    rejects(craft(`{'descr': '<f4', 'fortran_order': False, 'shape': (-2,)}`, f4(1, 2)), /whole numbers/);
    rejects(craft(`{'descr': '<f4', 'fortran_order': False, 'shape': [2]}`, f4(1, 2)), /must be a tuple/);
    const rank = `(${Array.from({ length: 65 }, () => "1").join(", ")})`;
    rejects(craft(`{'descr': '<f4', 'fortran_order': False, 'shape': ${rank}}`, f4(1)), /65 dims; at most 64/);
  });

  it("dtypes: big-endian, object, structured, others", () => {
    rejects(craft(`{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }`, f4(1, 2)), /big-endian '>f4'/);
    rejects(craft(`{'descr': '|O', 'fortran_order': False, 'shape': (2,), }`, f4(1, 2)), /Python objects/);
    rejects(
      craft(`{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }`, f4(1, 2)),
      /structured \(record\) dtypes are not supported/,
    );
    rejects(craft(`{'descr': '<u1', 'fortran_order': False, 'shape': (2,), }`, f4(1, 2)), /dtype '<u1' is not supp/);
    rejects(craft(`{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }`, f4(1, 2)), /Fortran/);
  });

  it("data that disagree with the header's shape", () => {
    rejects(craft(ok, f4(1)), /shape \(2\) of '<f4' needs 8 data bytes, but the file has 4 \(truncated\?\)/);
    rejects(craft(ok, f4(1, 2, 3)), /needs 8 data bytes, but the file has 12$/);
    rejects(craft(`{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }`, f4(1, 2)), /needs 16 data bytes/);
    rejects(
      craft(`{'descr': '<f4', 'fortran_order': False, 'shape': (9007199254740993,), }`, f4(1)),
      /a dim too large to hold/,
    );
  });

  it("files that cannot be read, or are larger than the limit", () => {
    const read = (p: string, limit?: number): string => {
      try {
        readNpy(p, { shownAs: "in.npy", ...(limit === undefined ? {} : { limit }) });
      } catch (e) {
        expect(e).toBeInstanceOf(NpyError);
        return (e as Error).message;
      }
      throw new Error("accepted");
    };
    expect(read(join(dir, "absent.npy"))).toBe("cannot read in.npy: no such file");
    mkdirSync(join(dir, "folder.npy"), { recursive: true });
    expect(read(join(dir, "folder.npy"))).toBe("cannot read in.npy: it is a folder, not a regular file");
    writeFileSync(join(dir, "big.bin"), new Uint8Array(2048));
    expect(read(join(dir, "big.bin"), 1024)).toBe("cannot read in.npy: larger than 1 KiB, the limit for a .npy input");
    expect(readFileSync(join(dir, "big.bin")).length).toBe(2048);
  });
});
