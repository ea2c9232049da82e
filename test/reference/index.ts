// The reference kit in one import, for parity tests of any backend (ONNX in test/reference.test.ts;
// the tfjs one next): the case table, the float64 interpreter, finite differences, test data.
// Takes: nothing. Gives: re-exports of cases.ts, interp64.ts, fd.ts and data.ts.
// Must not: add behaviour of its own.

export { allCases, model, modelN, OP_CASES, RANK_PROBES, type CaseOp, type OpCase } from "./cases.js";
export { erf, evalNode, OPS64, run64, stridesOf, zeros, type Ctx, type Mode, type T64 } from "./interp64.js";
export { dot, fdDirectional, fdGradient, loss, REL_STEP, type FdProblem, type Gradient } from "./fd.js";
export { caseParams, inputDims, prod, relError, SEED, uniform } from "./data.js";
