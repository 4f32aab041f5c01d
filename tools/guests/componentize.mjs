// Build a JavaScript WebAssembly component against a WIT world, with the
// componentize-js library API (its `jco componentize` CLI fails on this machine).
//
//   node tools/guests/componentize.mjs <source.js> <wit dir> <world> <out.wasm>
import { writeFile } from "node:fs/promises";
import { componentize } from "@bytecodealliance/componentize-js";

const [sourcePath, witPath, worldName, out] = process.argv.slice(2);
if (!out) {
  console.error("usage: componentize.mjs <source.js> <wit dir> <world> <out.wasm>");
  process.exit(2);
}
const { component } = await componentize({ sourcePath, witPath, worldName });
await writeFile(out, component);
