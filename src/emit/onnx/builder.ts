// Thin builders over onnx-proto's generated classes, in the manner of onnx.helper:
// makeNode, makeTensor, makeValueInfo, attribute conversion.
// Takes: plain values. Gives: onnx-proto message objects. Must not: know about the IR.

import onnxProto from "onnx-proto";
import { dimStr, type Dim } from "../../ir/dims.js";

export const { onnx } = onnxProto;
export type NodeProto = InstanceType<typeof onnx.NodeProto>;
export type TensorProto = InstanceType<typeof onnx.TensorProto>;
export type ValueInfoProto = InstanceType<typeof onnx.ValueInfoProto>;
export type ModelProto = InstanceType<typeof onnx.ModelProto>;

const LITTLE_ENDIAN = new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f;

export type Attr = number | number[] | string | { float: number } | { floats: number[] };

const AT = onnx.AttributeProto.AttributeType;

function makeAttr(name: string, v: Attr) {
  if (typeof v === "string") return onnx.AttributeProto.create({ name, type: AT.STRING, s: new TextEncoder().encode(v) });
  if (typeof v === "number") return onnx.AttributeProto.create({ name, type: AT.INT, i: v });
  if (Array.isArray(v)) return onnx.AttributeProto.create({ name, type: AT.INTS, ints: v });
  if ("float" in v) return onnx.AttributeProto.create({ name, type: AT.FLOAT, f: v.float });
  return onnx.AttributeProto.create({ name, type: AT.FLOATS, floats: v.floats });
}

export function makeNode(opType: string, inputs: string[], outputs: string[], name: string, attrs: Record<string, Attr> = {}, docString = ""): NodeProto {
  const attribute = Object.keys(attrs)
    .sort()
    .map((k) => makeAttr(k, attrs[k]!));
  return onnx.NodeProto.create({ opType, input: inputs, output: outputs, name, attribute, docString });
}

export function makeFloatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
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
  return onnx.TensorProto.create({ name, dims, dataType: onnx.TensorProto.DataType.FLOAT, rawData: raw });
}

export function makeInt64Tensor(name: string, values: number[]): TensorProto {
  const raw = new Uint8Array(values.length * 8);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return onnx.TensorProto.create({ name, dims: [values.length], dataType: onnx.TensorProto.DataType.INT64, rawData: raw });
}

/** A float tensor's type with its shape; symbolic dims become `dim_param` (batch stays dynamic). */
export function makeValueInfo(name: string, shape: readonly Dim[]): ValueInfoProto {
  const dim = shape.map((d) => (typeof d === "number" ? onnx.TensorShapeProto.Dimension.create({ dimValue: d }) : onnx.TensorShapeProto.Dimension.create({ dimParam: dimStr(d) })));
  return onnx.ValueInfoProto.create({ name, type: onnx.TypeProto.create({ tensorType: onnx.TypeProto.Tensor.create({ elemType: onnx.TensorProto.DataType.FLOAT, shape: onnx.TensorShapeProto.create({ dim }) }) }) });
}
