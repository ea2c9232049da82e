// Symbolic dimensions: canonical forms, so equal dims print (and compare) equal.
import { describe, expect, it } from "vitest";
import {
  dimAdd,
  dimCeilDiv,
  dimDivExact,
  dimEq,
  dimFloorDiv,
  dimMul,
  dimProduct,
  dimStr,
  dimSub,
  sym,
} from "../src/ir/dims.js";

const H = sym("H");
const W = sym("W");

describe("dims", () => {
  it("constant arithmetic stays numeric", () => {
    expect(dimAdd(3, 4)).toBe(7);
    expect(dimFloorDiv(7, 2)).toBe(3);
    expect(dimCeilDiv(7, 2)).toBe(4);
    expect(dimDivExact(7, 2)).toBeUndefined();
  });
  it("linear forms are canonical: order of construction does not matter", () => {
    expect(dimEq(dimAdd(dimAdd(H, 2), -3), dimSub(H, 1))).toBe(true);
    expect(dimStr(dimAdd(dimMul(H, 2), 1))).toBe("2*H + 1");
    expect(dimEq(dimAdd(H, W), dimAdd(W, H))).toBe(true);
    expect(dimEq(H, W)).toBe(false);
    expect(dimSub(H, H)).toBe(0);
  });
  it("products of symbols commute", () => {
    expect(dimStr(dimProduct([16, H, W]))).toBe("16*H*W");
    expect(dimEq(dimMul(H, W), dimMul(W, H))).toBe(true);
  });
  it("exact division divides every coefficient; otherwise an opaque floor", () => {
    expect(dimStr(dimFloorDiv(dimMul(H, 4), 2))).toBe("2*H");
    const half = dimFloorDiv(dimSub(H, 1), 2);
    expect(dimStr(half)).toBe("(H - 1) // 2");
    expect(dimStr(dimAdd(half, 1))).toBe("(H - 1) // 2 + 1");
    expect(dimStr(dimMul(half, 3))).toBe("3*((H - 1) // 2)");
    expect(dimEq(dimFloorDiv(dimSub(H, 1), 2), half)).toBe(true);
    expect(dimStr(dimCeilDiv(H, 2))).toBe("ceil(H / 2)");
  });
});
