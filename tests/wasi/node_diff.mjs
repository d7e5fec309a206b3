// node_diff.mjs: differential test of `wisp run` against Node's node:wasi.
//
//   node node_diff.mjs WISP GUEST_DIR FIXTURE_DIR WORK_DIR
//
// Every diff_*.wasm in GUEST_DIR runs twice, once under each runtime, with the
// same arguments, environment, stdin and a fresh copy of FIXTURE_DIR preopened
// as "/". Their stdout, stderr, exit status and the resulting directory tree
// (names, kinds, sizes, contents, link targets) must be identical.
//
//   node node_diff.mjs --guest MODULE DIR ENV_JSON ARGS...   (internal: the Node side)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ARGS = ['first arg', 'second', ''];
const ENV = { WISP_DIFF: 'yes', EMPTY: '', 'WITH=EQUALS': 'a=b' };
const STDIN = 'line one\nline two\nthird line without newline';

if (process.argv[2] === '--guest') {
  const { WASI } = await import('node:wasi');
  const [module, dir, envJson, ...args] = process.argv.slice(3);
  const wasi = new WASI({
    version: 'preview1',
    args: [module, ...args],
    env: JSON.parse(envJson),
    preopens: { '/': dir },
    returnOnExit: true,
  });
  const compiled = await WebAssembly.compile(fs.readFileSync(module));
  // wasiImport rather than getImportObject(): the latter needs Node 20, Debian 12 ships 18
  const instance = await WebAssembly.instantiate(compiled, { wasi_snapshot_preview1: wasi.wasiImport });
  process.exitCode = wasi.start(instance);
} else {
  main();
}

function tree(dir, rel = '') {
  const out = [];
  for (const name of fs.readdirSync(path.join(dir, rel)).sort()) {
    const r = path.join(rel, name);
    const p = path.join(dir, r);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) out.push(`${r} -> ${fs.readlinkSync(p)}`);
    else if (st.isDirectory()) out.push(`${r}/`, ...tree(dir, r));
    else out.push(`${r} ${st.size} ${JSON.stringify(fs.readFileSync(p, 'latin1'))}`);
  }
  return out;
}

function fresh(fixture, work, name) {
  const dir = path.join(work, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.cpSync(fixture, dir, { recursive: true });
  return dir;
}

function main() {
  const [wisp, guestDir, fixture, work] = process.argv.slice(2);
  const self = fileURLToPath(import.meta.url);
  fs.mkdirSync(work, { recursive: true });
  const guests = fs.readdirSync(guestDir).filter((f) => /^diff_.*\.wasm$/.test(f)).sort();
  if (guests.length === 0) {
    console.log(`SKIPPED: no diff_*.wasm in ${guestDir}`);
    return;
  }
  let failures = 0;
  for (const g of guests) {
    const module = path.join(guestDir, g);
    const base = g.replace(/\.wasm$/, '');
    const wdir = fresh(fixture, work, `${base}.wisp`);
    const ndir = fresh(fixture, work, `${base}.node`);
    const envArgs = Object.entries(ENV).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
    const w = spawnSync(wisp, ['run', '--dir', `${wdir}::/`, ...envArgs, module, ...ARGS],
      { input: STDIN, encoding: 'latin1', timeout: 60000 });
    const n = spawnSync(process.execPath,
      ['--no-warnings', self, '--guest', module, ndir, JSON.stringify(ENV), ...ARGS],
      { input: STDIN, encoding: 'latin1', timeout: 60000 });
    const diffs = [];
    if (w.status !== n.status) diffs.push(`exit status: wisp ${w.status}, node ${n.status}`);
    if (w.stdout !== n.stdout) diffs.push(`stdout:\n--- wisp\n${w.stdout}\n--- node\n${n.stdout}`);
    if (w.stderr !== n.stderr) diffs.push(`stderr:\n--- wisp\n${w.stderr}\n--- node\n${n.stderr}`);
    const wt = tree(wdir).join('\n'), nt = tree(ndir).join('\n');
    if (wt !== nt) diffs.push(`directory tree:\n--- wisp\n${wt}\n--- node\n${nt}`);
    if (diffs.length) {
      failures++;
      console.log(`FAIL ${base}\n  ${diffs.join('\n  ')}`);
    } else {
      console.log(`PASS ${base} (exit ${w.status}, ${w.stdout.split('\n').length - 1} lines)`);
    }
  }
  console.log(`node-diff: ${guests.length - failures}/${guests.length} identical`);
  process.exitCode = failures ? 1 : 0;
}
