// Registers every op family once; import this module to use the registry.
import { attentionOps } from "./attention.js";
import { convOps } from "./conv.js";
import { layerOps } from "./layers.js";
import { registerOps } from "./registry.js";
import { shapeOps } from "./shape.js";
import { tokenOps } from "./tokens.js";
import { spikeOps } from "./spike.js";

registerOps([...convOps, ...layerOps, ...shapeOps, ...attentionOps, ...tokenOps, ...spikeOps]);

export { allOpNames, allOps, describeArgType, lookupOp } from "./registry.js";
export { lookupPartsOp, PARTS_OPS, type Parts, type PartsDef } from "./parts.js";
export type { ArgSpec, ArgType, ArgValue, OpDef } from "./registry.js";
