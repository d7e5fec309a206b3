// compare.mjs CASES.txt WISP.txt JCO.txt: compares the transcripts of the
// valtypes script on wisp (valtypes_run) and on jco transpile + Node
// (transpile.mjs), call by call (a call is its line plus the indented lines
// under it). They must be equal, except for calls cases.txt marks
// "| jco deviates" (where jco 1.x does not implement a trap the spec requires,
// or traps where the spec does not): there jco's result must differ from
// wisp's, and both are shown.
import { readFileSync } from 'node:fs';

const [casesPath, wispPath, jcoPath] = process.argv.slice(2);
const blocks = (text) => {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    if (line.startsWith(' ') && out.length) out[out.length - 1].push(line);
    else out.push([line]);
  }
  return out;
};
const deviates = [];
for (const line of readFileSync(casesPath, 'utf8').split('\n')) {
  if (!line || line.startsWith('#')) continue;
  deviates.push(line.endsWith(' | jco deviates'));
}
const w = blocks(readFileSync(wispPath, 'utf8'));
const j = blocks(readFileSync(jcoPath, 'utf8'));
let bad = 0;
const result = (b) => b.find((l) => l.startsWith('  => ')) ?? '(no result)';
if (w.length !== deviates.length || j.length !== deviates.length) {
  console.log(`FAIL: ${deviates.length} calls in the script, ${w.length} in wisp's transcript, ${j.length} in jco's`);
  bad++;
}
let same = 0, dev = 0;
for (let i = 0; i < Math.min(w.length, j.length, deviates.length); i++) {
  const a = w[i].join('\n'), b = j[i].join('\n');
  if (deviates[i]) {
    dev++;
    console.log(`jco deviates: ${w[i][0]}\n  wisp: ${result(w[i]).slice(5)}\n  jco:  ${result(j[i]).slice(5, 120)}`);
    if (result(w[i]) === result(j[i])) {
      console.log(`FAIL: call ${i + 1} (${w[i][0]}) is marked "jco deviates" but both give ${result(w[i])}`);
      bad++;
    }
  } else if (a !== b) {
    console.log(`FAIL: call ${i + 1} differs\n--- wisp\n${a}\n--- jco transpile\n${b.slice(0, 2000)}`);
    bad++;
  } else {
    same++;
  }
}
console.log(`${same} calls agree, ${dev} known jco deviations, ${bad} failures`);
process.exit(bad ? 1 : 0);
