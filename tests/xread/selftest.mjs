#!/usr/bin/env node
// Self-test for xread.mjs: DuckDB (@duckdb/node-api, devDependency) writes the same rows as
// Parquet (several codecs, Parquet v1 and v2 pages, several row groups) and as JSON lines;
// xread must give every Parquet reader the checksum of the JSON lines.
//
// usage: node selftest.mjs [--keep DIR]     (--keep: write fixtures to DIR and leave them there)
// Prints PASS/FAIL lines, then "N passed, N failed"; exits 1 on any failure.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync, truncateSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';

const here = dirname(fileURLToPath(import.meta.url));
const XREAD = join(here, 'xread.mjs');

const args = process.argv.slice(2);
const keepIdx = args.indexOf('--keep');
const dir = keepIdx >= 0 ? args[keepIdx + 1] : mkdtempSync(join(tmpdir(), 'xread-selftest-'));
if (!dir) { console.error('usage: node selftest.mjs [--keep DIR]'); process.exit(2); }
mkdirSync(dir, { recursive: true });

let passed = 0, failed = 0;
function check(ok, name, detail = '') {
  if (ok) passed++; else failed++;
  console.log(`${ok ? 'PASS' : 'FAIL'} ${name}${detail ? ' — ' + detail : ''}`);
}

// --------------------------------------------------------------------------------------------
// Fixtures
// --------------------------------------------------------------------------------------------

// Columns whose values must agree across parquet-wasm, hyparquet and DuckDB's JSON lines.
const MAIN_DDL = `CREATE TABLE t (
  id INTEGER,
  i INTEGER, bi BIGINT, d DOUBLE, s VARCHAR, b BOOLEAN, dt DATE, ts TIMESTAMP,
  dec DECIMAL(10,2), li INTEGER[], st STRUCT(a INTEGER, b VARCHAR, c DOUBLE),
  ti TINYINT, si SMALLINT, ub UBIGINT, f FLOAT, tstz TIMESTAMPTZ, tm TIME, tsms TIMESTAMP_MS,
  tsns TIMESTAMP_NS, bl BLOB, ls VARCHAR[], lst STRUCT(x INTEGER, y VARCHAR)[],
  ns STRUCT(k INTEGER[], m STRUCT(z BOOLEAN)), mp MAP(VARCHAR, INTEGER), dec18 DECIMAL(18,4)
)`;

// Hand-written edge rows (id < 100).
const EDGE_ROWS = `INSERT INTO t VALUES
 (1, 0, 9007199254740993, 2.0, 'plain ascii', true, DATE '2024-01-02', TIMESTAMP '2024-01-02 03:04:05',
  12.34, [1, 2, 3], {'a': 1, 'b': 'x', 'c': 2.0},
  -128, -32768, 18446744073709551615, 0.1, TIMESTAMPTZ '2024-01-02 03:04:05.5+00', TIME '00:00:00',
  TIMESTAMP_MS '2024-01-02 03:04:05.123', TIMESTAMP_NS '2024-01-02 03:04:05.123456789',
  '\\x00\\xFF\\x5C\\x27\\x22 az~\\x7F'::BLOB, ['a', '', NULL], [{'x': 1, 'y': 'p'}, NULL, {'x': NULL, 'y': NULL}],
  {'k': [7], 'm': {'z': true}}, MAP {'one': 1, 'two': NULL}, 12345678901.2345),
 (2, -2147483648, -9223372036854775808, 0.1, 'quote " apostrophe '' backslash \\ tab' || chr(9) || 'nl' || chr(10) || 'cr' || chr(13) || 'ctl' || chr(1),
  false, DATE '1970-01-01', TIMESTAMP '1969-12-31 23:59:59.999999',
  -0.01, [], {'a': NULL, 'b': NULL, 'c': NULL},
  127, 32767, 0, -1.5, TIMESTAMPTZ '1969-12-31 23:59:59.000001+00', TIME '23:59:59.999999',
  TIMESTAMP_MS '1969-12-31 23:59:59.999', TIMESTAMP_NS '1969-12-31 23:59:59.999999999',
  ''::BLOB, [], [], {'k': [], 'm': NULL}, MAP {}, -0.0001),
 (3, 2147483647, 9223372036854775807, -(0.0::DOUBLE), 'UTF-8: é ß 中文 😀 \u00a0', NULL, DATE '0001-01-01', TIMESTAMP '0001-01-01 00:00:00',
  99999999.99, [NULL], NULL,
  NULL, NULL, NULL, 3.4028235e38, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 99999999999.9999),
 (4, NULL, -1, 1e300, '', NULL, DATE '9999-12-31', TIMESTAMP '9999-12-31 23:59:59.999999',
  0.57, NULL, {'a': 0, 'b': '', 'c': -0.5},
  0, 0, 1, 1e-45, TIMESTAMPTZ '2262-04-11 23:47:16+00', TIME '12:00:00.5', TIMESTAMP_MS '2000-02-29 00:00:00',
  TIMESTAMP_NS '2000-02-29 12:00:00.000000001', 'abc'::BLOB, NULL, NULL, NULL, NULL, 0),
 (5, 42, 1, 5e-324, 'null', true, DATE '1900-03-01', TIMESTAMP '1900-03-01 00:00:00.000001',
  0.00, [2147483647, -2147483648], {'a': 2147483647, 'b': 'null', 'c': 1e-300},
  1, 1, 9007199254740993, 16777217, TIMESTAMPTZ '2000-01-01 00:00:00+00', TIME '00:00:00.000001',
  TIMESTAMP_MS '1900-01-01 00:00:00.001', TIMESTAMP_NS '1677-09-22 00:12:43.145224192',
  '\\x80'::BLOB, ['"', '\\', chr(10)], [{'x': 0, 'y': ''}], {'k': NULL, 'm': {'z': NULL}}, MAP {'': 0}, -12345678901.2345),
 (6, 7, 123456789012345678, 'NaN'::DOUBLE, 'NaN', false, NULL, NULL, -12.30, [1], NULL,
  NULL, NULL, NULL, 'NaN'::FLOAT, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (7, 8, -123456789012345678, 'Infinity'::DOUBLE, 'Infinity', NULL, NULL, NULL, 1.00, NULL, NULL,
  NULL, NULL, NULL, '-Infinity'::FLOAT, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (8, 9, 0, '-Infinity'::DOUBLE, '2024-01-02', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (9, 10, 0, 1.7976931348623157e308, '-0', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (10, 11, 0, 1/3, '1e21', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (11, 12, 0, 123456789012345680.0, ' ', NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (12, 13, 0, 1e21, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (13, 14, 0, 1e-7, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`;

// Generated rows: several thousand, spread over row groups/pages, with NULLs and repeats
// (dictionary encoding).
const GEN_ROWS = `INSERT INTO t
SELECT 100 + g,
  CASE WHEN g % 13 = 0 THEN NULL ELSE (g * 7919) % 2000003 - 1000001 END,
  CASE WHEN g % 11 = 0 THEN NULL ELSE (g * 1000000007 * 1000003) % 9007199254740993 * (CASE WHEN g % 2 = 0 THEN 1 ELSE -1 END) END,
  CASE WHEN g % 17 = 0 THEN NULL WHEN g % 5 = 0 THEN (g % 40)::DOUBLE ELSE g::DOUBLE / 7 * pow(10, (g % 41) - 20) END,
  CASE WHEN g % 19 = 0 THEN NULL ELSE 'v' || (g % 37) || repeat('é"', g % 3) || CASE WHEN g % 10 = 0 THEN chr(10) ELSE '' END || chr((32 + g % 700)::INTEGER) END,
  CASE WHEN g % 23 = 0 THEN NULL ELSE g % 3 = 0 END,
  CASE WHEN g % 29 = 0 THEN NULL ELSE DATE '1900-01-01' + (g * 13)::INTEGER END,
  CASE WHEN g % 31 = 0 THEN NULL ELSE TIMESTAMP '1960-01-01' + to_microseconds(g * 987654321123) END,
  CASE WHEN g % 7 = 0 THEN NULL ELSE (((g * 104729) % 19999999999 - 9999999999)::DECIMAL(18,0) * 0.01::DECIMAL(3,2))::DECIMAL(10,2) END,
  CASE g % 6 WHEN 0 THEN NULL WHEN 1 THEN [] ELSE list_transform(range(g % 9), x -> CASE WHEN x = 4 THEN NULL ELSE (x * g)::INTEGER END) END,
  CASE g % 8 WHEN 0 THEN NULL WHEN 1 THEN {'a': NULL, 'b': NULL, 'c': NULL} ELSE {'a': g, 'b': 's' || (g % 5), 'c': g / 3} END,
  (g % 256 - 128)::TINYINT, (g * 7 % 65536 - 32768)::SMALLINT, ((g::HUGEINT * 3689348814741910323) % 18446744073709551615)::UBIGINT,
  CASE WHEN g % 9 = 0 THEN NULL ELSE (g::FLOAT / 3) END,
  TIMESTAMPTZ '2000-01-01 00:00:00+00' + to_microseconds(g * 12345678901),
  TIME '00:00:00' + to_microseconds((g * 1234567891) % 86400000000),
  (TIMESTAMP '2000-01-01' + to_milliseconds(g * 123456789))::TIMESTAMP_MS,
  (TIMESTAMP '2000-01-01' + to_microseconds(g * 123456789))::TIMESTAMP_NS,
  CASE WHEN g % 4 = 0 THEN NULL ELSE (g::VARCHAR || chr(10))::BLOB END,
  CASE WHEN g % 5 = 0 THEN NULL ELSE ['x' || (g % 3), NULL, ''] END,
  CASE WHEN g % 6 = 0 THEN NULL ELSE [{'x': g, 'y': 'q' || g}, {'x': NULL, 'y': NULL}] END,
  CASE WHEN g % 7 = 0 THEN NULL ELSE {'k': [g, g + 1], 'm': {'z': g % 2 = 0}} END,
  CASE WHEN g % 3 = 0 THEN NULL ELSE MAP {'k' || (g % 4): g, 'z': NULL} END,
  CASE WHEN g % 5 = 0 THEN NULL ELSE ((g * 7919)::DECIMAL(18,0) * 0.0001::DECIMAL(5,4))::DECIMAL(18,4) END
FROM range(1, 5001) r(g)`;

// Types that are known NOT to match across all readers (see README). Reported, not asserted.
const LIMIT_COLUMNS = {
  uuid: `uuid '550e8400-e29b-41d4-a716-446655440000'`,
  interval: `INTERVAL 1 DAY`,
  decimal_18_wide: `1234567890123.4567::DECIMAL(18,4)`,
  decimal_38: `1234567890123456789012.5::DECIMAL(38,4)`,
  hugeint: `170141183460469231731687303715884105727::HUGEINT`,
  json: `'{"a": [1, 2]}'::JSON`,
  time_tz: `TIMETZ '01:02:03+05'`,
  int32_delta_v2: [`SELECT * FROM (VALUES (1, (-2147483648)::INTEGER), (2, 2147483647)) v(id, v)`, ', PARQUET_VERSION v2'],
};

// Parquet files per data set; every file of a data set is compared with that data set's JSON lines.
// lakepack itself writes Parquet v1 pages with snappy/zstd/gzip/uncompressed.
const DATASETS = [
  {
    name: 'main', where: 'true', files: [
      ['uncompressed', 'COMPRESSION uncompressed, ROW_GROUP_SIZE 1000'],
      ['snappy', 'COMPRESSION snappy, ROW_GROUP_SIZE 1000'],
      ['gzip', 'COMPRESSION gzip, ROW_GROUP_SIZE 1000'],
      ['zstd', 'COMPRESSION zstd, ROW_GROUP_SIZE 1000'],
      ['brotli', 'COMPRESSION brotli, ROW_GROUP_SIZE 1000'],
      ['lz4_raw', 'COMPRESSION lz4_raw, ROW_GROUP_SIZE 1000'],
    ],
  },
  {
    // Parquet v2 data pages (DELTA_BINARY_PACKED etc.).  Rows 2 and 5 are left out: DuckDB
    // delta-encodes INT32 -2^31 next to 2^31-1 with a 33-bit delta, which arrow-rs rejects
    // (see the "int32_delta_v2" limit below).
    name: 'v2', where: 'id NOT IN (2, 5)', files: [
      ['zstd', 'COMPRESSION zstd, PARQUET_VERSION v2, ROW_GROUP_SIZE 1000'],
      ['snappy-rg300', 'COMPRESSION snappy, PARQUET_VERSION v2, ROW_GROUP_SIZE 300'],
    ],
  },
];

const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
await con.run(`SET TimeZone = 'UTC'`);
await con.run(MAIN_DDL);
await con.run(EDGE_ROWS);
await con.run(GEN_ROWS);

const q = (p) => `'${p.replaceAll("'", "''")}'`;
for (const ds of DATASETS) {
  const src = `(SELECT * FROM t WHERE ${ds.where} ORDER BY id)`;
  ds.jsonl = join(dir, `${ds.name}.jsonl`);
  await con.run(`COPY ${src} TO ${q(ds.jsonl)} (FORMAT json)`);
  ds.rows = Number((await con.runAndReadAll(`SELECT count(*) FROM t WHERE ${ds.where}`)).getRows()[0][0]);
  ds.parquets = [];
  for (const [name, opts] of ds.files) {
    const p = join(dir, `${ds.name}-${name}.parquet`);
    await con.run(`COPY ${src} TO ${q(p)} (FORMAT parquet, ${opts})`);
    ds.parquets.push(p);
  }
}
const limitFiles = [];
for (const [name, expr] of Object.entries(LIMIT_COLUMNS)) {
  try {
    const base = join(dir, `limit-${name}`);
    const [sql, opts] = Array.isArray(expr) ? expr : [`SELECT 1 AS id, ${expr} AS v UNION ALL SELECT 2, NULL`, ''];
    await con.run(`COPY (${sql}) TO ${q(base + '.parquet')} (FORMAT parquet${opts})`);
    await con.run(`COPY (${sql}) TO ${q(base + '.jsonl')} (FORMAT json)`);
    limitFiles.push([name, base]);
  } catch (e) {
    console.log(`INFO limit ${name}: DuckDB could not write it: ${e.message.split('\n')[0]}`);
  }
}
con.closeSync?.();

// --------------------------------------------------------------------------------------------
// Run xread (the CLI, as callers use it)
// --------------------------------------------------------------------------------------------

function runXread(argv) {
  const r = spawnSync(process.execPath, [XREAD, ...argv], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const lines = r.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  return { status: r.status, lines, stderr: r.stderr };
}

for (const ds of DATASETS) {
  const out = runXread([ds.jsonl, ...ds.parquets]);
  const ref = out.lines.find((l) => l.reader === 'jsonl');
  check(ref && !ref.error && ref.rows === ds.rows, `jsonl ${ds.name}.jsonl reads ${ds.rows} rows`, ref?.error ?? `rows=${ref?.rows}`);
  check(out.status === 0, `xread exit status 0 on the ${ds.name} files`, out.stderr.trim());
  const cols = JSON.stringify(ref?.columns);
  for (const p of ds.parquets) {
    for (const reader of ['parquet-wasm', 'hyparquet']) {
      const r = out.lines.find((l) => l.file === p && l.reader === reader);
      const name = `${reader} ${p.replace(dir + '/', '')}`;
      if (!r) { check(false, name, 'no output line'); continue; }
      if (r.error) { check(false, name, r.error); continue; }
      const bad = [];
      if (r.rows !== ref.rows) bad.push(`rows ${r.rows} != ${ref.rows}`);
      if (JSON.stringify(r.columns) !== cols) bad.push(`columns ${JSON.stringify(r.columns)}`);
      if (r.checksum !== ref.checksum) bad.push(`checksum ${r.checksum} != jsonl ${ref.checksum}`);
      if (r.multiset !== ref.multiset) bad.push(`multiset ${r.multiset} != jsonl ${ref.multiset}`);
      check(bad.length === 0, `${name} == ${ds.name}.jsonl`, bad.length ? bad.join('; ') : `rows=${r.rows} checksum=${r.checksum.slice(0, 16)}…`);
    }
  }
  ds.ref = ref;
}

const [{ jsonl, parquets, ref }] = DATASETS;
// The checksum must notice a changed value; "multiset" must ignore row order only.
const lines = readFileSync(jsonl, 'utf8').split('\n').filter(Boolean);
const tampered = join(dir, 'tampered.jsonl');
writeFileSync(tampered, lines.map((l, k) => (k === 1 ? l.replace('"id":2,', '"id":2.5,') : l)).join('\n') + '\n');
const shuffled = join(dir, 'shuffled.jsonl');
writeFileSync(shuffled, lines.slice().reverse().join('\n') + '\n');
const neg = runXread([tampered, shuffled]);
const [tam, shu] = neg.lines;
check(tam && tam.checksum !== ref.checksum && tam.multiset !== ref.multiset, 'a changed value changes checksum and multiset');
check(shu && shu.checksum !== ref.checksum && shu.multiset === ref.multiset, 'reordered rows change checksum, keep multiset');
const sameOk = runXread(['--same', jsonl, parquets[0]]);
const sameBad = runXread(['--same', jsonl, tampered]);
check(sameOk.status === 0 && sameBad.status === 1, '--same exit status (0 when equal, 1 when not)');

// A damaged file must be reported as an error by both readers, with exit status 1.
const broken = join(dir, 'broken.parquet');
writeFileSync(broken, readFileSync(parquets[0]));
truncateSync(broken, Math.floor(statSync(broken).size / 2));
const br = runXread([broken]);
check(br.status === 1 && br.lines.length === 2 && br.lines.every((l) => l.error),
  'truncated parquet: error from both readers, exit 1', br.lines.map((l) => `${l.reader}: ${l.error}`).join(' | '));

// --exclude drops a column in every reader alike.
const ex = runXread(['--exclude', 'd,st', jsonl, parquets[0]]);
check(ex.status === 0 && ex.lines.length === 3 && new Set(ex.lines.map((l) => l.checksum)).size === 1 &&
  !ex.lines[0].columns.includes('d'), '--exclude d,st agrees across readers');

// Known limitations: informational only.
for (const [name, base] of limitFiles) {
  const r = runXread([base + '.jsonl', base + '.parquet']);
  const j = r.lines[0];
  const parts = r.lines.slice(1).map((l) => `${l.reader}: ${l.error ? 'error (' + l.error.slice(0, 60) + ')' : l.checksum === j.checksum ? 'matches jsonl' : 'differs'}`);
  console.log(`INFO limit ${name}: ${parts.join(', ')}`);
}

if (keepIdx < 0) rmSync(dir, { recursive: true, force: true });
else console.log(`fixtures kept in ${dir}`);
console.log(`${passed} passed, ${failed} failed`);
process.exitCode = failed ? 1 : 0;
