// body-seed.mjs: turns a module built from a fuzz/seeds/body/*.wat seed into a
// fuzz_body input: the type index byte, then function 0's body from the code
// section without its final `end` (see fuzz_body.c for the format).
// Usage: node body-seed.mjs TYPE_INDEX module.wasm out.bin
import { readFileSync, writeFileSync } from 'node:fs';

const [typeIndex, input, output] = process.argv.slice(2);
const bytes = readFileSync(input);
let pos = 8;
function leb() {
  let result = 0, shift = 0, byte;
  do {
    byte = bytes[pos++];
    result |= (byte & 0x7f) << shift;
    shift += 7;
  } while (byte & 0x80);
  return result >>> 0;
}
while (pos < bytes.length) {
  const id = bytes[pos++];
  const size = leb();
  const end = pos + size;
  if (id === 10) {
    leb(); // function count
    const bodySize = leb();
    const body = bytes.subarray(pos, pos + bodySize - 1); // without the final end
    writeFileSync(output, Buffer.concat([Buffer.from([Number(typeIndex)]), body]));
    process.exit(0);
  }
  pos = end;
}
console.error(`${input}: no code section`);
process.exit(1);
