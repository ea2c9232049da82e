// Thin builders in the manner of onnx.helper: makeNode, makeFloatTensor, makeValueInfo,
// attribute conversion, over plain objects shaped like onnx-proto's messages (field names as
// protobufjs spells them), which proto.ts encodes.
// Takes: plain values. Gives: message objects. Must not: know about the IR.

import { dimStr, type Dim } from "../../ir/dims.js";
import type { Deferred } from "./proto.js";

/** onnx.proto's enum values that resnetc writes (TensorProto.DataType, AttributeProto.AttributeType). */
export const DataType = { FLOAT: 1, INT64: 7 } as const;
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 } as const;

export interface AttributeProto {
  name: string;
  type: number;
  f?: number;
  i?: number;
  s?: Uint8Array;
  floats?: number[];
  ints?: number[];
}
export interface NodeProto {
  opType: string;
  input: string[];
  output: string[];
  name: string;
  attribute: AttributeProto[];
  docString: string;
}
export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  /** Deferred until encoded: the emitter's drawn weights are written into the model's bytes. */
  rawData: Uint8Array | Deferred;
}
export interface Dimension {
  dimValue?: number;
  dimParam?: string;
}
export interface ValueInfoProto {
  name: string;
  type: { tensorType: { elemType: number; shape: { dim: Dimension[] } } };
}
export interface GraphProto {
  name: string;
  node: NodeProto[];
  initializer: TensorProto[];
  input: ValueInfoProto[];
  output: ValueInfoProto[];
  valueInfo: ValueInfoProto[];
  docString: string;
}
export interface ModelProto {
  irVersion: number;
  opsetImport: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  graph: GraphProto;
}

const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;

export type Attr = number | number[] | string | { float: number } | { floats: number[] };

function makeAttr(name: string, v: Attr): AttributeProto {
  if (typeof v === "string") return { name, type: AttributeType.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === "number") return { name, type: AttributeType.INT, i: v };
  if (Array.isArray(v)) return { name, type: AttributeType.INTS, ints: v };
  if ("float" in v) return { name, type: AttributeType.FLOAT, f: v.float };
  return { name, type: AttributeType.FLOATS, floats: v.floats };
}

export function makeNode(
  opType: string,
  inputs: string[],
  outputs: string[],
  name: string,
  attrs: Record<string, Attr> = {},
  docString = "",
): NodeProto {
  const attribute = Object.keys(attrs)
    .sort()
    .map((k) => makeAttr(k, attrs[k]!));
  return { opType, input: inputs, output: outputs, name, attribute, docString };
}

export function makeFloatTensor(name: string, dims: number[], data: Float32Array | Deferred): TensorProto {
  if (!(data instanceof Float32Array)) return { name, dims, dataType: DataType.FLOAT, rawData: data };
  // raw_data is little-endian: on a little-endian machine (all Node targets in practice) the
  // array's bytes are already right; otherwise convert value by value.
  let raw: Uint8Array;
  // A view, not a copy: the emitter's parameter arrays are not written after this.
  if (LITTLE_ENDIAN) raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  else {
    raw = new Uint8Array(data.length * 4);
    const view = new DataView(raw.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(i * 4, data[i]!, true);
  }
  return { name, dims, dataType: DataType.FLOAT, rawData: raw };
}

export function makeInt64Tensor(name: string, values: number[]): TensorProto {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return { name, dims: [values.length], dataType: DataType.INT64, rawData: raw };
}

/** A float tensor's type with its shape; symbolic dims become `dim_param` (batch stays dynamic). */
export function makeValueInfo(name: string, shape: readonly Dim[]): ValueInfoProto {
  const dim = shape.map((d): Dimension => (typeof d === "number" ? { dimValue: d } : { dimParam: dimStr(d) }));
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}
