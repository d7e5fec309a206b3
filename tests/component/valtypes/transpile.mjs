// transpile.mjs WORLD.wit VALTYPES.js CASES.txt: plays the valtypes script
// (cases.txt) against the valtypes component transpiled by `jco transpile
// --instantiation async` (VALTYPES.js and its core modules), on Node, with the
// host side of world.wit written here in JavaScript. Prints the transcript
// valtypes_run.c prints for the same component on wisp (same notation, same
// trap kinds); diff.sh compares the two.
//
// Values go through jco's JavaScript mapping of WIT: u64/s64 are BigInt, chars
// one-code-point strings, records objects with camelCase keys, tuples arrays,
// variants {tag, val}, enums strings, options the value or undefined, results
// {tag, val} (an export's err result is thrown as a ComponentError), flags
// objects of booleans, resources class instances. The types come from WORLD.wit,
// read by the small WIT reader below (enough for world.wit, not general).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [witPath, jsPath, casesPath] = process.argv.slice(2);
if (!casesPath) {
  console.error('usage: node transpile.mjs WORLD.wit VALTYPES.js CASES.txt');
  process.exit(2);
}

// ---- a WIT reader for world.wit ----

const types = new Map(); // name -> {kind, fields|cases|labels}
const funcs = { types: new Map(), host: new Map(), guest: new Map() }; // interface -> name -> {params, result}

function readWit(text) {
  const toks = text.replace(/\/\/[^\n]*/g, '').match(/->|[A-Za-z0-9_\-\[\]\.%]+|[{}()<>,:;=_]/g);
  let i = 0;
  const peek = () => toks[i];
  const next = () => toks[i++];
  const expect = (t) => {
    if (toks[i] !== t) throw new Error(`world.wit: expected ${t} at token ${i}: ${toks.slice(i, i + 5).join(' ')}`);
    i++;
  };
  function type() {
    const name = next();
    if (['list', 'option', 'borrow', 'own'].includes(name)) {
      expect('<');
      const elem = type();
      expect('>');
      return { kind: name, elem };
    }
    if (name === 'tuple') {
      expect('<');
      const elems = [type()];
      while (peek() === ',') { next(); elems.push(type()); }
      expect('>');
      return { kind: 'tuple', elems };
    }
    if (name === 'result') {
      if (peek() !== '<') return { kind: 'result', ok: null, err: null };
      expect('<');
      const ok = peek() === '_' ? (next(), null) : type();
      let err = null;
      if (peek() === ',') { next(); err = type(); }
      expect('>');
      return { kind: 'result', ok, err };
    }
    if (name === '_') return null;
    return { kind: 'named', name };
  }
  function params() {
    expect('(');
    const ps = [];
    while (peek() !== ')') {
      const n = next();
      expect(':');
      ps.push({ name: n, type: type() });
      if (peek() === ',') next();
    }
    expect(')');
    return ps;
  }
  function func(iface, name, self) {
    const isStatic = peek() === 'static';
    if (isStatic) next();
    expect('func');
    const ps = params();
    let result = null;
    if (peek() === '->') { next(); result = type(); }
    expect(';');
    const resName = self ? `[${isStatic ? 'static' : 'method'}]${self}.${name}` : name;
    if (self && !isStatic) ps.unshift({ name: 'self', type: { kind: 'borrow', elem: { kind: 'named', name: self } } });
    funcs[iface].set(resName, { params: ps, result });
  }
  function labels() {
    expect('{');
    const out = [];
    while (peek() !== '}') {
      const n = next();
      let t = null;
      if (peek() === ':') { next(); t = type(); }
      else if (peek() === '(') { next(); t = type(); expect(')'); }
      out.push({ name: n, type: t });
      if (peek() === ',') next();
    }
    expect('}');
    return out;
  }
  while (i < toks.length) {
    const t = next();
    if (t === 'package') { while (next() !== ';'); continue; }
    if (t === 'world') { expect(next() && '{'); while (next() !== '}'); continue; }
    if (t !== 'interface') throw new Error(`world.wit: unexpected ${t}`);
    const iface = next();
    expect('{');
    while (peek() !== '}') {
      const k = next();
      if (k === 'use') { while (next() !== ';'); continue; }
      if (['record', 'variant', 'enum', 'flags'].includes(k)) {
        const n = next();
        types.set(n, { kind: k, items: labels() });
        continue;
      }
      if (k === 'resource') {
        const n = next();
        types.set(n, { kind: 'resource' });
        expect('{');
        while (peek() !== '}') {
          const m = next();
          if (m === 'constructor') {
            const ps = params();
            expect(';');
            funcs[iface].set(`[constructor]${n}`, { params: ps, result: { kind: 'own', elem: { kind: 'named', name: n } } });
          } else {
            expect(':');
            func(iface, m, n);
          }
        }
        expect('}');
        continue;
      }
      expect(':');
      func(iface, k, null);
    }
    expect('}');
  }
}
readWit(readFileSync(witPath, 'utf8'));

function resolve(t) {
  if (t && t.kind === 'named') {
    const d = types.get(t.name);
    if (!d) return { kind: t.name }; // a primitive
    if (d.kind === 'resource') return { kind: 'own', elem: t };
    return { ...d, name: t.name };
  }
  return t;
}

const camel = (s) => s.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase());
const className = (s) => camel(s).replace(/^./, (c) => c.toUpperCase());

// ---- host state ----

const out = [];
const print = (s) => out.push(s);
const counters = []; // id - 1 -> {live, value}
const counterById = new Map(); // id -> Counter
const counterOf = (id) => counterById.get(id);
const blobs = []; // label -> Blob (the host holds it) or null
const blobLabel = new Map();
let registerBlobs = false;

let printHost = true;
class Counter {
  constructor(start) {
    if (printHost) print(`  host [constructor]counter(${start})`);
    this.id = counters.length + 1;
    counters[this.id - 1] = { live: true, value: start };
    counterById.set(this.id, this);
  }
  add(n) {
    print(`  host [method]counter.add(counter#${this.id}, ${n})`);
    const c = counters[this.id - 1];
    c.value = (c.value + n) >>> 0;
    return c.value;
  }
  get() {
    print(`  host [method]counter.get(counter#${this.id})`);
    return counters[this.id - 1].value;
  }
  [Symbol.dispose]() {
    print(`  host [resource-drop]counter(counter#${this.id})`);
    counters[this.id - 1].live = false;
  }
}

// ---- printing ----

function f32bits(x) {
  const b = new DataView(new ArrayBuffer(4));
  b.setFloat32(0, x, true);
  return b.getUint32(0, true);
}
function f64bits(x) {
  const b = new DataView(new ArrayBuffer(8));
  b.setFloat64(0, x, true);
  return b.getBigUint64(0, true);
}
function printString(s) {
  let r = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0);
    if (ch === '"' || ch === '\\') r += '\\' + ch;
    else if (cp >= 0x20 && cp < 0x7f) r += ch;
    else r += `\\u{${cp.toString(16)}}`;
  }
  return r + '"';
}

function show(v, t0) {
  const t = resolve(t0);
  switch (t.kind) {
    case 'bool': return v ? 'true' : 'false';
    case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': case 's64': case 'u64':
      return String(v);
    case 'f32': return Number.isNaN(v) ? 'nan' : 'f32:' + f32bits(v).toString(16).padStart(8, '0');
    case 'f64': return Number.isNaN(v) ? 'nan' : 'f64:' + f64bits(v).toString(16).padStart(16, '0');
    case 'char': return `'U+${v.codePointAt(0).toString(16).toUpperCase()}'`;
    case 'string': return printString(v);
    case 'list': return '[' + Array.from(v, (x) => show(x, t.elem)).join(', ') + ']';
    case 'tuple': return '(' + t.elems.map((e, i) => show(v[i], e)).join(', ') + ')';
    case 'record': return '{' + t.items.map((f) => `${f.name}: ${show(v[camel(f.name)], f.type)}`).join(', ') + '}';
    case 'flags': return '{' + t.items.filter((f) => v[camel(f.name)]).map((f) => f.name).join(', ') + '}';
    case 'enum': return v;
    case 'variant': {
      const c = t.items.find((x) => x.name === v.tag);
      return c.type ? `${v.tag}(${show(v.val, c.type)})` : v.tag;
    }
    case 'option': return v === undefined || v === null ? 'none' : `some(${show(v, t.elem)})`;
    case 'result': {
      const p = v.tag === 'ok' ? t.ok : t.err;
      return p ? `${v.tag}(${show(v.val, p)})` : v.tag;
    }
    case 'own': case 'borrow': {
      const name = t.elem.name;
      if (name === 'counter') return `counter#${v.id}`;
      if (registerBlobs && t.kind === 'own') {
        blobs.push(v);
        blobLabel.set(v, blobs.length);
      }
      return `blob#${blobLabel.get(v) ?? 0}`;
    }
    default: throw new Error(`cannot show a ${t.kind}`);
  }
}

// ---- parsing ----

function parser(text) {
  return { s: text, p: 0 };
}
function skip(ps) {
  while (ps.s[ps.p] === ' ') ps.p++;
}
function eat(ps, tok) {
  skip(ps);
  if (ps.s.startsWith(tok, ps.p)) { ps.p += tok.length; return true; }
  return false;
}
function want(ps, tok) {
  if (!eat(ps, tok)) throw new Error(`expected ${tok} at "${ps.s.slice(ps.p, ps.p + 40)}"`);
}
function word(ps) {
  skip(ps);
  const m = /^[A-Za-z0-9_\-]+/.exec(ps.s.slice(ps.p));
  if (!m) throw new Error(`expected a name at "${ps.s.slice(ps.p, ps.p + 40)}"`);
  ps.p += m[0].length;
  return m[0];
}
function number(ps) {
  skip(ps);
  const m = /^-?(inf|nan|[0-9.eE+\-]+)/.exec(ps.s.slice(ps.p));
  if (!m) throw new Error(`expected a number at "${ps.s.slice(ps.p, ps.p + 40)}"`);
  ps.p += m[0].length;
  return m[0];
}
let givenAway = 0;

function parse(ps, t0) {
  const t = resolve(t0);
  switch (t.kind) {
    case 'bool':
      if (eat(ps, 'true')) return true;
      want(ps, 'false');
      return false;
    case 's64': case 'u64': return BigInt(number(ps));
    case 's8': case 'u8': case 's16': case 'u16': case 's32': case 'u32': return Number(number(ps));
    case 'f32': case 'f64': {
      const n = number(ps);
      const x = n === 'nan' ? NaN : n === 'inf' ? Infinity : n === '-inf' ? -Infinity : Number(n);
      return t.kind === 'f32' ? Math.fround(x) : x;
    }
    case 'char': {
      want(ps, "'U+");
      const m = /^[0-9A-Fa-f]+/.exec(ps.s.slice(ps.p));
      ps.p += m[0].length;
      want(ps, "'");
      return String.fromCodePoint(parseInt(m[0], 16));
    }
    case 'string': {
      want(ps, '"');
      let r = '';
      while (ps.s[ps.p] !== '"') {
        if (ps.s.startsWith('\\u{', ps.p)) {
          const end = ps.s.indexOf('}', ps.p);
          r += String.fromCodePoint(parseInt(ps.s.slice(ps.p + 3, end), 16));
          ps.p = end + 1;
          continue;
        }
        if (ps.s[ps.p] === '\\') ps.p++;
        r += ps.s[ps.p++];
      }
      ps.p++;
      return r;
    }
    case 'list': {
      want(ps, '[');
      const items = [];
      while (!eat(ps, ']')) {
        if (items.length) want(ps, ',');
        items.push(parse(ps, t.elem));
      }
      const e = resolve(t.elem).kind;
      return e === 'u8' ? Uint8Array.from(items) : e === 'u32' ? Uint32Array.from(items) : e === 'u16'
        ? Uint16Array.from(items) : items;
    }
    case 'tuple': {
      want(ps, '(');
      const r = t.elems.map((e, i) => {
        if (i) want(ps, ',');
        return parse(ps, e);
      });
      want(ps, ')');
      return r;
    }
    case 'record': {
      want(ps, '{');
      const r = {};
      t.items.forEach((f, i) => {
        if (i) want(ps, ',');
        if (word(ps) !== f.name) throw new Error(`expected field ${f.name}`);
        want(ps, ':');
        r[camel(f.name)] = parse(ps, f.type);
      });
      want(ps, '}');
      return r;
    }
    case 'flags': {
      want(ps, '{');
      const r = {};
      for (const f of t.items) r[camel(f.name)] = false;
      for (let k = 0; !eat(ps, '}'); k++) {
        if (k) want(ps, ',');
        r[camel(word(ps))] = true;
      }
      return r;
    }
    case 'enum': return word(ps);
    case 'variant': {
      const tag = word(ps);
      const c = t.items.find((x) => x.name === tag);
      if (!c) throw new Error(`no case ${tag}`);
      if (!c.type) return { tag };
      want(ps, '(');
      const val = parse(ps, c.type);
      want(ps, ')');
      return { tag, val };
    }
    case 'option': {
      if (eat(ps, 'none')) return undefined;
      want(ps, 'some(');
      const v = parse(ps, t.elem);
      want(ps, ')');
      return v;
    }
    case 'result': {
      const tag = eat(ps, 'ok') ? 'ok' : (want(ps, 'err'), 'err');
      const p = tag === 'ok' ? t.ok : t.err;
      if (!p) return { tag };
      want(ps, '(');
      const val = parse(ps, p);
      want(ps, ')');
      return { tag, val };
    }
    case 'own': case 'borrow': {
      if (eat(ps, 'counter#')) return counterOf(Number(number(ps)));
      want(ps, 'blob#');
      const n = Number(number(ps));
      if (!blobs[n - 1]) throw new Error(`blob#${n} is not held by the host`);
      if (t.kind === 'own') givenAway = n;
      return blobs[n - 1];
    }
    default: throw new Error(`cannot parse a ${t.kind}`);
  }
}


// ---- the host side of world.wit ----

const hostImports = {};
for (const [name, f] of funcs.host) {
  const showArgs = (args) => f.params.map((p, i) => show(args[i], p.type)).join(', ');
  let fn;
  if (name === 'echo-many') {
    fn = (...a) => {
      print(`  host ${name}(${showArgs(a)})`);
      return [a[3], a[7], a[5], a[6]];
    };
  } else if (name === 'consume') {
    fn = (a, b) => {
      print(`  host consume(counter#${a.id}, counter#${b.id})`);
      counters[b.id - 1].live = false;
      return 0;
    };
  } else if (name === 'describe') {
    fn = (c) => {
      print(`  host describe(counter#${c.id})`);
      return `counter#${c.id}`;
    };
  } else if (name === 'take') {
    fn = (c) => {
      print(`  host take(counter#${c.id})`);
      counters[c.id - 1].live = false;
      return 0;
    };
  } else if (name === 'reenter') {
    fn = () => {
      print('  host reenter()');
      return guest().rtU32(1);
    };
  } else {
    fn = (...a) => {
      print(`  host ${name}(${showArgs(a)})`);
      return a[0];
    };
  }
  hostImports[camel(name)] = fn;
}

// ---- running the script ----

const mod = await import(pathToFileURL(jsPath).href);
const dir = dirname(jsPath);
const coreModules = new Map();
const getCoreModule = (name) => {
  if (!coreModules.has(name)) coreModules.set(name, WebAssembly.compile(readFileSync(join(dir, name))));
  return coreModules.get(name);
};
let instance = null;
async function instantiate() {
  instance = await mod.instantiate(getCoreModule, {
    'wisp:valtypes/host': hostImports,
    'wisp:valtypes/types': { Counter },
  });
  blobs.length = 0; // blobs the host held belonged to the old instance
}
const guest = () => instance['wisp:valtypes/guest'] ?? instance.guest;

// The kind of trap, from jco's or V8's message (the transcript's categories).
function trapKind(e) {
  const m = String(e && e.message ? e.message : e);
  const kinds = [
    [/invalid char|not a valid char|code point|surrogate/i, 'invalid-char'],
    [/out of bounds|out-of-bounds|outside the bounds|Invalid typed array length|RangeError/i, 'out-of-bounds'],
    [/align/i, 'misaligned'],
    [/discriminant|invalid variant|invalid enum|invalid option|invalid result/i, 'invalid-discriminant'],
    [/utf-?8|utf-?16|decode|encoded data/i, 'invalid-string'],
    [/resource does not exist|invalid handle|unknown handle|handle.*not.*found|not a valid resource|Invalid resource|resource.*dropped/i,
      'unknown-handle'],
    [/wrong.*type|handle.*type|type mismatch/i, 'wrong-resource-type'],
    [/borrow.*(remain|not dropped|outstanding|live)/i, 'borrow-outlives-call'],
    [/lend|lent|borrowed/i, 'handle-lent'],
    [/cannot enter|reentr|re-entr|may not enter|mayEnter/i, 'reentrance'],
    [/cannot leave|may not leave|mayLeave/i, 'may-not-leave'],
  ];
  for (const [re, k] of kinds) if (re.test(m)) return k;
  return null;
}

function callExport(name, args) {
  const g = guest();
  let m;
  if ((m = /^\[constructor\](.*)$/.exec(name))) return new g[className(m[1])](...args);
  if ((m = /^\[method\]([^.]*)\.(.*)$/.exec(name))) return args[0][camel(m[2])](...args.slice(1));
  if ((m = /^\[static\]([^.]*)\.(.*)$/.exec(name))) return g[className(m[1])][camel(m[2])](...args);
  return g[camel(name)](...args);
}

await instantiate();
const lines = readFileSync(casesPath, 'utf8').split('\n');
for (let lineno = 1; lineno <= lines.length; lineno++) {
  let line = lines[lineno - 1].replace(/\r$/, '');
  if (!line || line.startsWith('#')) continue;
  line = line.replace(/ \| jco deviates$/, '');
  const at = line.indexOf(' => ');
  if (at >= 0) line = line.slice(0, at);
  const sp = line.indexOf(' ');
  const name = sp < 0 ? line : line.slice(0, sp);
  const argText = sp < 0 ? '' : line.slice(sp + 1);
  if (name === 'host-counter') {
    printHost = false;
    const c = new Counter(Number(argText));
    printHost = true;
    print(`host-counter ${argText}\n  = counter#${c.id}`);
    continue;
  }
  if (name === 'host-drop') {
    print(`host-drop ${argText}`);
    const [kind, n] = argText.split('#');
    if (kind === 'counter') counters[Number(n) - 1].live = false;
    else {
      const b = blobs[Number(n) - 1];
      blobs[Number(n) - 1] = null;
      b[Symbol.dispose]();
    }
    continue;
  }
  const f = funcs.guest.get(name);
  if (!f) throw new Error(`line ${lineno}: no export ${name}`);
  const ps = parser(argText);
  const args = f.params.map((p, i) => {
    if (i) want(ps, ',');
    return parse(ps, p.type);
  });
  const shown = f.params.map((p, i) => show(args[i], p.type)).join(', ');
  print(`${name}${f.params.length ? ' ' : ''}${shown}`);
  if (givenAway) blobs[givenAway - 1] = null;
  givenAway = 0;
  try {
    let r;
    try {
      r = callExport(name, args);
      if (f.result && resolve(f.result).kind === 'result') r = { tag: 'ok', val: r };
    } catch (e) {
      if (!(e && Object.prototype.hasOwnProperty.call(e, 'payload'))) throw e;
      r = { tag: 'err', val: e.payload };
    }
    registerBlobs = true;
    const res = f.result ? show(r, f.result) : '';
    registerBlobs = false;
    print(`  => ${res}`);
  } catch (e) {
    registerBlobs = false;
    const kind = trapKind(e);
    print(`  => trap ${kind ?? 'other'}`);
    if (!kind) print(`  (unclassified trap: ${e && e.message ? e.message : e})`);
    else console.error(`line ${lineno}: ${name}: ${e && e.message ? e.message : e}`);
    await instantiate();
  }
}
process.stdout.write(out.join('\n') + '\n');
