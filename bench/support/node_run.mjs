// node_run.mjs: runs a kernel .wasm on Node (V8). Usage: node node_run.mjs kernel.wasm
// Prints "CHECKSUM WALL_MS CPU_MS" for the `run` call only (compilation excluded;
// V8's tiering still happens inside the call, as it would in production). The CPU
// time is the whole process's, so it includes V8's background compiler threads.
import { readFileSync } from 'node:fs';

const bytes = readFileSync(process.argv[2]);
const { instance } = await WebAssembly.instantiate(bytes, {});
const c0 = process.cpuUsage();
const t0 = process.hrtime.bigint();
const sum = instance.exports.run() >>> 0;
const t1 = process.hrtime.bigint();
const c1 = process.cpuUsage(c0);
const cpu = (c1.user + c1.system) / 1e3;
console.log(`${sum} ${(Number(t1 - t0) / 1e6).toFixed(3)} ${cpu.toFixed(3)}`);
