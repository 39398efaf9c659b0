#!/usr/bin/env node
// xread: independent cross-check of Parquet files (and DuckDB JSON-lines dumps).
//
// usage: node xread.mjs [--reader parquet-wasm|hyparquet|jsonl|all] [--exclude COL,...] [--same] [--dump] FILE...
//
// For every FILE and every applicable reader one JSON line is printed:
//   {"file":..,"reader":..,"rows":N,"columns":[..],"checksum":"<sha256 hex>","multiset":"<16 hex>"}
// or, when the reader fails:
//   {"file":..,"reader":..,"error":".."}
// Exit status: 1 if any reader failed (or, with --same, if the printed checksums are not all
// equal), 2 on a usage error, else 0.  See README.md for the canonical value forms.

import { createHash } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { extname } from 'node:path';
import { pathToFileURL } from 'node:url';

export const READERS = ['parquet-wasm', 'hyparquet', 'jsonl'];

// ---------------------------------------------------------------------------------------------
// Canonical values.  A canonical value is one of: null, true, false, a string, an array of
// canonical values, or a CObj (an object whose entries are sorted by key).
// ---------------------------------------------------------------------------------------------

export class CObj {
  /** @param {[string, any][]} entries */
  constructor(entries) {
    this.entries = entries.slice().sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }
}

/** Serialize a canonical value (objects with their already-sorted entries). */
export function serialize(v) {
  if (v === null) return 'null';
  if (v === true) return 'true';
  if (v === false) return 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return '[' + v.map(serialize).join(',') + ']';
  if (v instanceof CObj) {
    return '{' + v.entries.map(([k, x]) => JSON.stringify(k) + ':' + serialize(x)).join(',') + '}';
  }
  throw new Error(`internal: not a canonical value: ${typeof v}`);
}

const NUM_RE = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/;

/** Exact value of a decimal number text as {neg, digits, exp} (value = digits * 10^exp), or null for zero. */
function decParts(text) {
  const m = NUM_RE.exec(text);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new Error(`bad number text: ${text}`);
  let digits = m[2] + (m[3] ?? '');
  let exp = -(m[3] ?? '').length + (m[4] ? parseInt(m[4], 10) : 0);
  digits = digits.replace(/^0+/, '');
  if (digits === '') return null;
  const t = digits.replace(/0+$/, '');
  exp += digits.length - t.length;
  return { neg: m[1] === '-', digits: t, exp };
}

function sameParts(a, b) {
  if (a === null || b === null) return a === b;
  return a.neg === b.neg && a.digits === b.digits && a.exp === b.exp;
}

/** Plain (no exponent) decimal notation of parts. */
function plainText(p) {
  if (p === null) return '0';
  let s;
  if (p.exp >= 0) s = p.digits + '0'.repeat(p.exp);
  else if (p.digits.length > -p.exp) s = p.digits.slice(0, p.exp) + '.' + p.digits.slice(p.exp);
  else s = '0.' + '0'.repeat(-p.exp - p.digits.length) + p.digits;
  return (p.neg ? '-' : '') + s;
}

/** Canonical form of a JS number (double). */
export function canonNumber(x) {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return '0'; // also -0
  return String(x);
}

/**
 * Canonical form of an exact decimal number text (JSON literal, integer, decimal):
 * the JS shortest round-trip string of Number(text) when that denotes exactly the same value,
 * else the exact value in plain decimal notation (e.g. big int64, wide decimals).
 */
export function canonNumText(text) {
  const p = decParts(String(text));
  if (p === null) return '0';
  const n = Number(text);
  if (Number.isFinite(n)) {
    const s = canonNumber(n);
    if (sameParts(decParts(s), p)) return s;
  }
  return plainText(p);
}

export function canonBigInt(b) {
  return canonNumText(b.toString());
}

/** Unscaled integer (BigInt) with a scale -> canonical number. */
export function canonDecimal(unscaled, scale) {
  let s = unscaled.toString();
  if (scale > 0) s += 'e-' + scale;
  else if (scale < 0) s += 'e' + -scale;
  return canonNumText(s);
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

function floorDiv(a, b) {
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
}

/** days since 1970-01-01 -> "YYYY-MM-DD" (proleptic Gregorian, UTC). */
export function fmtDate(days) {
  const d = new Date(Number(days) * 86400000);
  if (Number.isNaN(d.getTime())) throw new Error(`date out of range: ${days} days`);
  const y = d.getUTCFullYear();
  const ys = y < 0 ? '-' + pad(-y, 4) : pad(y, 4);
  return `${ys}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
}

const UNIT = { s: [1n, 0], ms: [1000n, 3], us: [1000000n, 6], ns: [1000000000n, 9] };

function fraction(frac, width) {
  if (frac === 0n) return '';
  return '.' + frac.toString().padStart(width, '0').replace(/0+$/, '');
}

/** Integer count of `unit` since the epoch -> "YYYY-MM-DD HH:MM:SS[.fff]" (+ "+00" when utc). */
export function fmtTimestamp(value, unit, utc) {
  const [per, width] = UNIT[unit];
  const v = BigInt(value);
  const secs = floorDiv(v, per);
  const frac = v - secs * per;
  const days = floorDiv(secs, 86400n);
  const sod = Number(secs - days * 86400n);
  const hms = `${pad(Math.floor(sod / 3600))}:${pad(Math.floor(sod / 60) % 60)}:${pad(sod % 60)}`;
  return `${fmtDate(days)} ${hms}${fraction(frac, width)}${utc ? '+00' : ''}`;
}

/** Integer count of `unit` since midnight -> "HH:MM:SS[.fff]". */
export function fmtTime(value, unit) {
  const [per, width] = UNIT[unit];
  const v = BigInt(value);
  const secs = floorDiv(v, per);
  const frac = v - secs * per;
  const s = Number(secs);
  return `${pad(Math.floor(s / 3600))}:${pad(Math.floor(s / 60) % 60)}:${pad(s % 60)}${fraction(frac, width)}`;
}

/**
 * Binary -> DuckDB's BLOB text form (what `COPY ... (FORMAT json)` writes for a BLOB):
 * bytes 0x20..0x7E except \ ' " as themselves, every other byte as \xHH (upper-case hex).
 */
export function blobText(bytes) {
  let s = '';
  for (const b of bytes) {
    if (b >= 0x20 && b <= 0x7e && b !== 0x5c && b !== 0x27 && b !== 0x22) s += String.fromCharCode(b);
    else s += '\\x' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return s;
}

/** A canonical value used as an object (map) key. */
function keyString(c) {
  return typeof c === 'string' ? c : serialize(c);
}

/** Canonicalize a plain JS value whose type is known only from the value itself. */
export function canonGeneric(v) {
  if (v === null || v === undefined) return null;
  switch (typeof v) {
    case 'boolean': return v;
    case 'bigint': return canonBigInt(v);
    case 'number': return canonNumber(v);
    case 'string': return v;
  }
  if (v instanceof Uint8Array) return blobText(v);
  if (v instanceof Date) {
    const ms = v.getTime();
    if (Number.isNaN(ms)) throw new Error('invalid Date value');
    return fmtTimestamp(BigInt(ms), 'ms', false);
  }
  if (Array.isArray(v) || ArrayBuffer.isView(v)) return Array.from(v, canonGeneric);
  if (v instanceof Map) return new CObj([...v].map(([k, x]) => [keyString(canonGeneric(k)), canonGeneric(x)]));
  if (typeof v === 'object') return new CObj(Object.entries(v).map(([k, x]) => [k, canonGeneric(x)]));
  throw new Error(`cannot canonicalize a ${typeof v}`);
}

// ---------------------------------------------------------------------------------------------
// Row hashing
// ---------------------------------------------------------------------------------------------

class RowHasher {
  constructor(dump) {
    this.dump = dump; // optional (line) => void, for --dump
    this.hash = createHash('sha256');
    this.sum = 0n;
    this.rows = 0;
  }
  add(row) {
    const line = serialize(row) + '\n';
    if (this.dump) this.dump(line);
    this.hash.update(line, 'utf8');
    const h = createHash('sha256').update(line, 'utf8').digest();
    this.sum = (this.sum + h.readBigUInt64BE(0)) & 0xffffffffffffffffn;
    this.rows++;
  }
  result(file, reader, columns) {
    return {
      file, reader, rows: this.rows, columns,
      checksum: this.hash.digest('hex'),
      multiset: this.sum.toString(16).padStart(16, '0'),
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Reader: parquet-wasm (arrow-rs) -> Arrow IPC -> apache-arrow
// ---------------------------------------------------------------------------------------------

const ARROW_TIME_UNITS = ['s', 'ms', 'us', 'ns']; // apache-arrow TimeUnit enum order

let arrowMods;
async function loadArrow() {
  if (!arrowMods) {
    const pw = await import('parquet-wasm');
    const arrow = await import('apache-arrow');
    arrowMods = { pw, arrow };
  }
  return arrowMods;
}

/** Find the Data chunk of vector `vec` holding index i -> [data, localIndex]. */
function chunkAt(vec, i) {
  for (const d of vec.data) {
    if (i < d.length) return [d, i];
    i -= d.length;
  }
  throw new Error('internal: index out of range');
}

function makeArrowConverter(arrow) {
  const { Type, makeVector } = arrow;
  const vecCache = new WeakMap();
  const vectorOf = (data) => {
    let v = vecCache.get(data);
    if (!v) { v = makeVector(data); vecCache.set(data, v); }
    return v;
  };

  /** Canonical value at local index i of Arrow Data `d`. */
  function conv(d, i) {
    const t = d.type;
    if (t.typeId === Type.Null) return null;
    if (t.typeId !== Type.Union && !d.getValid(i)) return null;
    switch (t.typeId) {
      case Type.Int: {
        const x = d.values[i];
        return typeof x === 'bigint' ? canonBigInt(x) : canonNumber(x);
      }
      case Type.Float:
        return canonNumber(t.precision === 0 ? Number(vectorOf(d).get(i)) : d.values[i]);
      case Type.Bool:
        return vectorOf(d).get(i);
      case Type.Utf8: case Type.LargeUtf8: case Type.Utf8View:
        return vectorOf(d).get(i);
      case Type.Binary: case Type.LargeBinary: case Type.BinaryView: case Type.FixedSizeBinary:
        return blobText(vectorOf(d).get(i));
      case Type.Decimal: {
        const stride = t.bitWidth / 32;
        const w = d.values.subarray(i * stride, (i + 1) * stride);
        let u = 0n;
        for (let k = stride - 1; k >= 0; k--) u = (u << 32n) | BigInt(w[k]);
        if (u >> BigInt(t.bitWidth - 1)) u -= 1n << BigInt(t.bitWidth);
        return canonDecimal(u, t.scale);
      }
      case Type.Date: {
        if (t.unit === 0) return fmtDate(d.values[i]); // DAY
        const ms = BigInt(vectorOf(d).get(i));
        return ms % 86400000n === 0n ? fmtDate(ms / 86400000n) : fmtTimestamp(ms, 'ms', false);
      }
      case Type.Timestamp:
        return fmtTimestamp(d.values[i], ARROW_TIME_UNITS[t.unit], !!t.timezone);
      case Type.Time:
        return fmtTime(d.values[i], ARROW_TIME_UNITS[t.unit]);
      case Type.List: case Type.LargeList: {
        const a = Number(d.valueOffsets[i]), b = Number(d.valueOffsets[i + 1]);
        const c = d.children[0];
        const out = [];
        for (let j = a; j < b; j++) out.push(conv(c, j));
        return out;
      }
      case Type.FixedSizeList: {
        const n = t.listSize, c = d.children[0];
        const out = [];
        for (let j = i * n; j < (i + 1) * n; j++) out.push(conv(c, j));
        return out;
      }
      case Type.Struct:
        return new CObj(t.children.map((f, k) => [f.name, conv(d.children[k], i)]));
      case Type.Map: {
        const a = Number(d.valueOffsets[i]), b = Number(d.valueOffsets[i + 1]);
        const kv = d.children[0];
        const entries = [];
        for (let j = a; j < b; j++) {
          entries.push([keyString(conv(kv.children[0], j)), conv(kv.children[1], j)]);
        }
        return new CObj(entries);
      }
      case Type.Dictionary: {
        const [dd, di] = chunkAt(d.dictionary, Number(d.values[i]));
        return conv(dd, di);
      }
      default:
        throw new Error(`unsupported Arrow type ${String(t)}`);
    }
  }
  return conv;
}

async function readParquetWasm(file, { exclude, dump }) {
  const { pw, arrow } = await loadArrow();
  const bytes = new Uint8Array(readFileSync(file));
  const conv = makeArrowConverter(arrow);
  const schema = arrow.tableFromIPC(pw.readSchema(bytes).intoIPCStream()).schema;
  const columns = schema.fields.map((f) => f.name).filter((n) => !exclude.has(n));
  const hasher = new RowHasher(dump);
  // Read one row group at a time to bound memory.  The synchronous readParquet is used for the
  // data: a Rust panic inside the async ParquetFile.read() escapes as an uncaught exception.
  const pf = await pw.ParquetFile.fromFile(new Blob([bytes]));
  const nGroups = pf.metadata().numRowGroups();
  pf.free?.();
  for (let g = 0; g < nGroups; g++) {
    const wt = pw.readParquet(bytes, { rowGroups: [g], columns });
    const table = arrow.tableFromIPC(wt.intoIPCStream());
    for (const batch of table.batches) {
      const cols = columns.map((name) => {
        const idx = batch.schema.fields.findIndex((f) => f.name === name);
        if (idx < 0) throw new Error(`column ${name} missing in row group ${g}`);
        const v = batch.getChildAt(idx);
        if (v.data.length !== 1) throw new Error('internal: multi-chunk batch column');
        return v.data[0];
      });
      for (let r = 0; r < batch.numRows; r++) hasher.add(cols.map((d) => conv(d, r)));
    }
  }
  return { columns, hasher };
}

// ---------------------------------------------------------------------------------------------
// Reader: hyparquet (+ hyparquet-compressors)
// ---------------------------------------------------------------------------------------------

class HyDays { constructor(days) { this.days = days; } }
class HyTs { constructor(v, unit) { this.v = v; this.unit = unit; } }

const HY_PARSERS = {
  timestampFromMilliseconds: (v) => new HyTs(BigInt(v), 'ms'),
  timestampFromMicroseconds: (v) => new HyTs(BigInt(v), 'us'),
  timestampFromNanoseconds: (v) => new HyTs(BigInt(v), 'ns'),
  dateFromDays: (v) => new HyDays(v),
  // keep JSON-typed columns as their text, like arrow-rs does
  jsonFromBytes: (b) => b && new TextDecoder().decode(b),
};

const HY_UNITS = { MILLIS: 'ms', MICROS: 'us', NANOS: 'ns' };

function hyIsList(node) {
  const e = node.element;
  return (e.converted_type === 'LIST' || e.logical_type?.type === 'LIST') && node.children.length === 1;
}
function hyIsMap(node) {
  const e = node.element;
  return (e.converted_type === 'MAP' || e.converted_type === 'MAP_KEY_VALUE' || e.logical_type?.type === 'MAP') &&
    node.children.length === 1 && node.children[0].children.length === 2;
}

/** Element node of a LIST-annotated group (3-level, with the legacy 2-level fallbacks). */
function hyListElement(node) {
  const rep = node.children[0];
  if (rep.children.length !== 1) return rep; // repeated group is the element (legacy)
  if (rep.element.name === 'array' || rep.element.name === node.element.name + '_tuple') return rep;
  return rep.children.length ? rep.children[0] : rep;
}

/** Canonicalize hyparquet value `v` of schema node `node` (repetition already applied). */
function hyConv(node, v, asElement = false) {
  if (v === null || v === undefined) return null;
  const e = node.element;
  if (!asElement && e.repetition_type === 'REPEATED') {
    // bare repeated field (no LIST annotation): hyparquet yields an array
    return Array.from(v, (x) => hyConv(node, x, true));
  }
  if (hyIsList(node)) {
    const el = hyListElement(node);
    return Array.from(v, (x) => hyConv(el, x, true));
  }
  if (hyIsMap(node)) {
    const kvNode = node.children[0];
    const kNode = kvNode.children.find((c) => c.element.name === 'key') ?? kvNode.children[0];
    const vNode = kvNode.children.find((c) => c.element.name === 'value') ?? kvNode.children[1];
    let pairs;
    if (v instanceof Map) pairs = [...v];
    else if (Array.isArray(v)) pairs = v.map((p) => (Array.isArray(p) ? p : [p.key, p.value]));
    else pairs = Object.entries(v);
    return new CObj(pairs.map(([k, x]) => [keyString(typeof k === 'string' ? k : hyConv(kNode, k, true)), hyConv(vNode, x, true)]));
  }
  if (node.children.length) {
    return new CObj(node.children.map((c) => [c.element.name, hyConv(c, v[c.element.name])]));
  }
  // leaf
  const lt = e.logical_type;
  const ct = e.converted_type;
  if (ct === 'DECIMAL' || lt?.type === 'DECIMAL') {
    // hyparquet returns unscaled * 10^-scale as a JS number; recover the exact decimal while
    // the unscaled integer is safely representable (|unscaled| < 2^51, i.e. ~15 digits).
    const scale = e.scale ?? lt?.scale ?? 0;
    if (typeof v === 'bigint') return canonDecimal(v, scale);
    const u = Math.round(v * 10 ** scale);
    if (Number.isSafeInteger(u) && Math.abs(u) < 2 ** 51) return canonDecimal(BigInt(u), scale);
    return canonNumber(v);
  }
  if (v instanceof HyDays) return fmtDate(v.days);
  if (v instanceof HyTs) {
    let utc;
    if (lt?.type === 'TIMESTAMP') utc = !!lt.isAdjustedToUTC;
    else utc = e.type !== 'INT96'; // legacy TIMESTAMP_MILLIS/MICROS are UTC-adjusted; INT96 is read as local
    return fmtTimestamp(v.v, v.unit, utc);
  }
  if (lt?.type === 'TIME') return fmtTime(v, HY_UNITS[lt.unit]);
  if (ct === 'TIME_MILLIS') return fmtTime(v, 'ms');
  if (ct === 'TIME_MICROS') return fmtTime(v, 'us');
  return canonGeneric(v);
}

let hyMods;
async function loadHy() {
  if (!hyMods) {
    const hy = await import('hyparquet');
    const { compressors } = await import('hyparquet-compressors');
    hyMods = { hy, compressors };
  }
  return hyMods;
}

async function readHyparquet(file, { exclude, dump }) {
  const { hy, compressors } = await loadHy();
  const buf = readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const metadata = hy.parquetMetadata(ab);
  const tree = hy.parquetSchema(metadata);
  const nodes = tree.children.filter((c) => !exclude.has(c.element.name));
  const columns = nodes.map((c) => c.element.name);
  const hasher = new RowHasher(dump);
  // One row group at a time to bound memory.
  let start = 0;
  for (const rg of metadata.row_groups) {
    const end = start + Number(rg.num_rows);
    if (end > start) {
      let rows;
      await hy.parquetRead({
        file: ab, metadata, compressors, columns, rowStart: start, rowEnd: end,
        utf8: false, parsers: HY_PARSERS, rowFormat: 'array',
        onComplete: (r) => { rows = r; },
      });
      if (rows.length !== end - start) throw new Error(`row group returned ${rows.length} rows, expected ${end - start}`);
      for (const row of rows) hasher.add(nodes.map((n, k) => hyConv(n, row[k])));
    }
    start = end;
  }
  return { columns, hasher };
}

// ---------------------------------------------------------------------------------------------
// Reader: JSON lines (e.g. DuckDB `COPY ... TO 'x.jsonl' (FORMAT json)`)
// Custom parser: keeps number literals exact, accepts DuckDB's NaN / Infinity / -Infinity.
// ---------------------------------------------------------------------------------------------

class JObj { constructor(entries) { this.entries = entries; } }

const NUM_TOKEN = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** Parse one JSON text into canonical leaves; objects stay JObj (entry order kept). */
export function parseJsonLine(s) {
  let i = 0;
  const fail = (msg) => { throw new Error(`JSON: ${msg} at offset ${i}`); };
  const ws = () => { while (i < s.length && ' \t\r\n'.includes(s[i])) i++; };
  const lit = (word, val) => { if (s.startsWith(word, i)) { i += word.length; return val; } return fail(`unexpected token`); };
  function str() {
    const start = i++;
    for (;;) {
      const c = s.charCodeAt(i);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x5c) i += 2;
      else if (c === 0x22) { i++; break; }
      else i++;
    }
    return JSON.parse(s.slice(start, i));
  }
  function value() {
    ws();
    const c = s[i];
    if (c === '{') {
      i++; const entries = []; ws();
      if (s[i] === '}') { i++; return new JObj(entries); }
      for (;;) {
        ws(); if (s[i] !== '"') fail('expected key');
        const k = str(); ws();
        if (s[i] !== ':') fail('expected :'); i++;
        entries.push([k, value()]); ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === '}') { i++; return new JObj(entries); }
        fail('expected , or }');
      }
    }
    if (c === '[') {
      i++; const out = []; ws();
      if (s[i] === ']') { i++; return out; }
      for (;;) {
        out.push(value()); ws();
        if (s[i] === ',') { i++; continue; }
        if (s[i] === ']') { i++; return out; }
        fail('expected , or ]');
      }
    }
    if (c === '"') return str();
    if (c === 't') return lit('true', true);
    if (c === 'f') return lit('false', false);
    if (c === 'n') return lit('null', null);
    if (c === 'N') return lit('NaN', 'NaN');
    if (c === 'I') return lit('Infinity', 'Infinity');
    if (c === '-' && s.startsWith('-Infinity', i)) return lit('-Infinity', '-Infinity');
    NUM_TOKEN.lastIndex = i;
    const m = NUM_TOKEN.exec(s);
    if (!m) fail('unexpected character');
    i += m[0].length;
    return canonNumText(m[0]);
  }
  const v = value(); ws();
  if (i !== s.length) fail('trailing characters');
  return v;
}

function jsonToCanon(v) {
  if (v instanceof JObj) return new CObj(v.entries.map(([k, x]) => [k, jsonToCanon(x)]));
  if (Array.isArray(v)) return v.map(jsonToCanon);
  return v;
}

async function readJsonl(file, { exclude, dump }) {
  const text = readFileSync(file, 'utf8');
  let columns = null;
  const hasher = new RowHasher(dump);
  let lineNo = 0;
  for (const line of text.split('\n')) {
    lineNo++;
    if (line.trim() === '') continue;
    let obj;
    try { obj = parseJsonLine(line); } catch (e) { throw new Error(`line ${lineNo}: ${e.message}`); }
    if (!(obj instanceof JObj)) throw new Error(`line ${lineNo}: not a JSON object`);
    const m = new Map(obj.entries.filter(([k]) => !exclude.has(k)));
    if (columns === null) columns = [...m.keys()];
    for (const k of m.keys()) if (!columns.includes(k)) throw new Error(`line ${lineNo}: unexpected key ${JSON.stringify(k)}`);
    hasher.add(columns.map((c) => (m.has(c) ? jsonToCanon(m.get(c)) : null)));
  }
  return { columns: columns ?? [], hasher };
}

// ---------------------------------------------------------------------------------------------
// CLI
// ---------------------------------------------------------------------------------------------

const IMPL = { 'parquet-wasm': readParquetWasm, hyparquet: readHyparquet, jsonl: readJsonl };

function fileKind(file) {
  const ext = extname(file).toLowerCase();
  if (ext === '.jsonl' || ext === '.ndjson' || ext === '.json') return 'jsonl';
  return 'parquet';
}

/** Run one reader on one file; returns the result object (with `error` on failure). */
export async function xread(file, reader, opts = {}) {
  const exclude = new Set(opts.exclude ?? []);
  const dump = opts.dump ? (line) => opts.dump(reader, line) : undefined;
  try {
    const kind = fileKind(file);
    if ((reader === 'jsonl') !== (kind === 'jsonl')) throw new Error(`reader ${reader} does not read ${kind} files`);
    const { columns, hasher } = await IMPL[reader](file, { exclude, dump });
    return hasher.result(file, reader, columns);
  } catch (e) {
    return { file, reader, error: String(e?.message ?? e) };
  }
}

function usage(msg) {
  if (msg) process.stderr.write(`xread: ${msg}\n`);
  process.stderr.write('usage: node xread.mjs [--reader parquet-wasm|hyparquet|jsonl|all] [--exclude COL,...] [--same] [--dump] FILE...\n');
  process.exit(2);
}

async function main(argv) {
  let reader = 'all';
  let same = false;
  let dump;
  const exclude = [];
  const files = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reader' || a === '-r') reader = argv[++i];
    else if (a.startsWith('--reader=')) reader = a.slice(9);
    else if (a === '--exclude') exclude.push(...(argv[++i] ?? '').split(',').filter(Boolean));
    else if (a.startsWith('--exclude=')) exclude.push(...a.slice(10).split(',').filter(Boolean));
    else if (a === '--same') same = true;
    else if (a === '--dump') dump = (r, line) => process.stderr.write(`${r}\t${line}`);
    else if (a === '-h' || a === '--help') usage();
    else if (a === '--') files.push(...argv.slice(i + 1)), (i = argv.length);
    else if (a.startsWith('-')) usage(`unknown option ${a}`);
    else files.push(a);
  }
  if (reader !== 'all' && !IMPL[reader]) usage(`unknown reader ${reader}`);
  if (!files.length) usage('no FILE given');
  let failed = false;
  const sums = new Set();
  for (const file of files) {
    const readers = reader !== 'all' ? [reader] : fileKind(file) === 'jsonl' ? ['jsonl'] : ['parquet-wasm', 'hyparquet'];
    for (const r of readers) {
      const res = await xread(file, r, { exclude, dump });
      process.stdout.write(JSON.stringify(res) + '\n');
      if (res.error) failed = true;
      // an empty JSON-lines file has no column names, so columns count only when rows > 0
      else sums.add(JSON.stringify([res.checksum, res.rows, res.rows ? res.columns : []]));
    }
  }
  if (same && sums.size > 1) {
    process.stderr.write(`xread: --same: ${sums.size} different results\n`);
    failed = true;
  }
  process.exitCode = failed ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
