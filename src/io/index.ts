// resnetc/io: file helpers the compiler's CLI and @resnetc/runtime share (one copy, here).
// Takes: nothing. Gives: re-exports. Must not: grow beyond what both packages need.
export { AtomicWriteError, writeFileAtomic, writeFilesAtomic, writeFolderAtomic } from "./atomic-write.js";
export { formatBytes, readFileLimited, ReadFileError, type ReadLimit } from "./read-file.js";
export { encodeNpy, NPY_LIMIT, NpyError, parseNpy, readNpy, writeNpy, type NpyArray } from "./npy.js";
