// The protobuf wire format for the part of onnx.proto that resnetc writes, so emitting a model
// needs no protobuf library at run time (loading onnx-proto and protobufjs took longer than
// encoding ResNet-50) and a large model's bytes are written once, in place.
// Takes: plain message objects (builder.ts) and the schema of their type. Gives: the encoded
// bytes. A `bytes` field may be Deferred: its length is known up front and its content is
// written straight into the output (the emitter draws initial weights there).
// Must not: know about the IR or about ONNX semantics; the schemas are onnx.proto's field
// numbers and nothing more.
//
// Field presence and order follow protobufjs's generated encoders (onnx-proto): a singular
// field is written when it is not null or undefined, a repeated one when it is not empty,
// fields in ascending number, repeated numbers packed (onnx-proto is generated from the proto3
// form of onnx.proto), a negative integer as a 10-byte varint. The bytes are the ones
// onnx-proto's `ModelProto.encode` gives for the same objects.

export interface Deferred {
  readonly byteLength: number;
  /** Fills `dst` (exactly byteLength long, a view into the output) with the field's bytes. */
  write(dst: Uint8Array): void;
}

type Kind =
  "varint" | "float" | "string" | "bytes" | "packedVarints" | "packedFloats" | "strings" | "message" | "messages";
/** [field number, wire kind, property name, schema of a message field]. */
type Field = readonly [number, Kind, string, Schema?];
export type Schema = readonly Field[];

const DIMENSION: Schema = [
  [1, "varint", "dimValue"],
  [2, "string", "dimParam"],
  [3, "string", "denotation"],
];
const TENSOR_SHAPE: Schema = [[1, "messages", "dim", DIMENSION]];
const TYPE_TENSOR: Schema = [
  [1, "varint", "elemType"],
  [2, "message", "shape", TENSOR_SHAPE],
];
const TYPE: Schema = [
  [1, "message", "tensorType", TYPE_TENSOR],
  [6, "string", "denotation"],
];
export const VALUE_INFO: Schema = [
  [1, "string", "name"],
  [2, "message", "type", TYPE],
  [3, "string", "docString"],
];
export const TENSOR: Schema = [
  [1, "packedVarints", "dims"],
  [2, "varint", "dataType"],
  [4, "packedFloats", "floatData"],
  [7, "packedVarints", "int64Data"],
  [8, "string", "name"],
  [9, "bytes", "rawData"],
  [12, "string", "docString"],
];
const ATTRIBUTE: Schema = [
  [1, "string", "name"],
  [2, "float", "f"],
  [3, "varint", "i"],
  [4, "bytes", "s"],
  [5, "message", "t", TENSOR],
  [7, "packedFloats", "floats"],
  [8, "packedVarints", "ints"],
  [13, "string", "docString"],
  [20, "varint", "type"],
];
const NODE: Schema = [
  [1, "strings", "input"],
  [2, "strings", "output"],
  [3, "string", "name"],
  [4, "string", "opType"],
  [5, "messages", "attribute", ATTRIBUTE],
  [6, "string", "docString"],
  [7, "string", "domain"],
];
const GRAPH: Schema = [
  [1, "messages", "node", NODE],
  [2, "string", "name"],
  [5, "messages", "initializer", TENSOR],
  [10, "string", "docString"],
  [11, "messages", "input", VALUE_INFO],
  [12, "messages", "output", VALUE_INFO],
  [13, "messages", "valueInfo", VALUE_INFO],
];
const OPERATOR_SET_ID: Schema = [
  [1, "string", "domain"],
  [2, "varint", "version"],
];
export const MODEL: Schema = [
  [1, "varint", "irVersion"],
  [2, "string", "producerName"],
  [3, "string", "producerVersion"],
  [4, "string", "domain"],
  [5, "varint", "modelVersion"],
  [6, "string", "docString"],
  [7, "message", "graph", GRAPH],
  [8, "messages", "opsetImport", OPERATOR_SET_ID],
];

const WIRE: Record<Kind, number> = {
  varint: 0,
  float: 5,
  string: 2,
  bytes: 2,
  packedVarints: 2,
  packedFloats: 2,
  strings: 2,
  message: 2,
  messages: 2,
};

type Message = Readonly<Record<string, unknown>>;
type Bytes = Uint8Array | Deferred;

const varintSize = (v: number): number => {
  if (v < 0) return 10;
  let n = 1;
  for (; v >= 128; n++) v = Math.floor(v / 128);
  return n;
};

/** Encodes one message: a sizing pass (which also encodes each distinct string once), then one
 * write into a buffer of exactly that size. */
export function encode(message: object, schema: Schema): Uint8Array {
  const utf8 = new Map<string, Uint8Array>();
  const encoder = new TextEncoder();
  const text = (s: string): Uint8Array => {
    let b = utf8.get(s);
    if (!b) utf8.set(s, (b = encoder.encode(s)));
    return b;
  };
  // Every nested message's size, from the sizing pass, for its length prefix in the write pass.
  const sizes = new Map<Message, number>();
  const delimited = (n: number): number => varintSize(n) + n;

  const fieldSize = (kind: Kind, v: unknown, sub: Schema | undefined): number => {
    switch (kind) {
      case "varint":
        return varintSize(Number(v));
      case "float":
        return 4;
      case "string":
        return delimited(text(v as string).length);
      case "bytes":
        return delimited((v as Bytes).byteLength);
      case "packedVarints":
        return delimited((v as number[]).reduce((s, x) => s + varintSize(Number(x)), 0));
      case "packedFloats":
        return delimited((v as number[]).length * 4);
      case "message":
        return delimited(size(v as Message, sub!));
    }
    return 0; // repeated non-packed kinds are sized element by element
  };
  function size(m: Message, s: Schema): number {
    let total = 0;
    for (const [id, kind, key, sub] of s) {
      const v = m[key];
      if (v == null) continue;
      const tag = varintSize(id * 8 + WIRE[kind]);
      if (kind === "strings" || kind === "messages") {
        for (const x of v as unknown[]) total += tag + fieldSize(kind === "strings" ? "string" : "message", x, sub);
      } else if (!Array.isArray(v) || v.length > 0) total += tag + fieldSize(kind, v, sub);
    }
    sizes.set(m, total);
    return total;
  }

  const out = new Uint8Array(size(message as Message, schema));
  const view = new DataView(out.buffer);
  let pos = 0;
  const varint = (v: number): void => {
    if (v < 0) {
      // Two's complement over 64 bits, as protobuf writes a negative int32 or int64.
      let b = BigInt.asUintN(64, BigInt(v));
      for (; b >= 128n; b >>= 7n) out[pos++] = Number(b & 127n) | 128;
      out[pos++] = Number(b);
      return;
    }
    for (; v >= 128; v = Math.floor(v / 128)) out[pos++] = (v % 128) | 128;
    out[pos++] = v;
  };
  const put = (b: Uint8Array): void => {
    varint(b.length);
    out.set(b, pos);
    pos += b.length;
  };
  const writeField = (kind: Kind, v: unknown, sub: Schema | undefined): void => {
    switch (kind) {
      case "varint":
        return varint(Number(v));
      case "float":
        view.setFloat32(pos, v as number, true);
        pos += 4;
        return;
      case "string":
        return put(text(v as string));
      case "bytes": {
        const b = v as Bytes;
        if (b instanceof Uint8Array) return put(b);
        varint(b.byteLength);
        b.write(out.subarray(pos, pos + b.byteLength));
        pos += b.byteLength;
        return;
      }
      case "packedVarints":
        varint((v as number[]).reduce((s, x) => s + varintSize(Number(x)), 0));
        for (const x of v as number[]) varint(Number(x));
        return;
      case "packedFloats":
        varint((v as number[]).length * 4);
        for (const x of v as number[]) writeField("float", x, undefined);
        return;
      case "message":
        varint(sizes.get(v as Message)!);
        return write(v as Message, sub!);
    }
  };
  function write(m: Message, s: Schema): void {
    for (const [id, kind, key, sub] of s) {
      const v = m[key];
      if (v == null) continue;
      if (kind === "strings" || kind === "messages") {
        for (const x of v as unknown[]) {
          varint(id * 8 + WIRE[kind]);
          writeField(kind === "strings" ? "string" : "message", x, sub);
        }
      } else if (!Array.isArray(v) || v.length > 0) {
        varint(id * 8 + WIRE[kind]);
        writeField(kind, v, sub);
      }
    }
  }
  write(message as Message, schema);
  return out;
}
