// node_run.mjs: runs a kernel .wasm on Node (V8). Usage: node node_run.mjs kernel.wasm
// Prints "CHECKSUM MS" with the time of the `run` call only (compilation excluded;
// V8's tiering still happens inside the call, as it would in production).
import { readFileSync } from 'node:fs';

const bytes = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const t0 = process.hrtime.bigint();
const sum = instance.exports.run() >>> 0;
const t1 = process.hrtime.bigint();
console.log(`${sum} ${(Number(t1 - t0) / 1e6).toFixed(3)}`);
