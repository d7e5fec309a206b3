// jco_new_suite.mjs JCO_DIR SUITE_DIR OUT_DIR
//
// Makes every NAME.wasm of one wasi-testsuite folder (preview1 command modules)
// a wasi:cli/command component OUT_DIR/NAME.wasm, as
// `jco new NAME.wasm --wasi-command -o OUT` does: the same jco function with the
// same preview1 command adapter (jco's lib/wasi_snapshot_preview1.command.wasm),
// in one Node process for the whole folder instead of one per binary.
import { readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [jcoDir, suiteDir, outDir] = process.argv.slice(2);
if (!outDir) {
  console.error('usage: node jco_new_suite.mjs JCO_DIR SUITE_DIR OUT_DIR');
  process.exit(2);
}
const jco = await import(pathToFileURL(join(jcoDir, 'dist', 'api.js')).href);
const adapter = await readFile(jco.preview1AdapterCommandPath());
await mkdir(outDir, { recursive: true });
const names = (await readdir(suiteDir)).filter((n) => n.endsWith('.wasm')).sort();
for (const name of names) {
  const core = await readFile(join(suiteDir, name));
  let component;
  try {
    component = await jco.componentNew(core, [['wasi_snapshot_preview1', adapter]]);
  } catch (e) {
    console.error(`jco_new_suite: ${join(suiteDir, name)}: ${e.message ?? e}`);
    process.exit(1);
  }
  await writeFile(join(outDir, name), component);
}
console.log(`jco_new_suite: ${names.length} components in ${outDir}`);
