// DuckDB (through @duckdb/node-api) for bench/rollup.sh. Two jobs:
//
//   node rollup_duckdb.mjs digest DIR_OR_FILE...
//       prints {"files":N,"rows":N,"checksum":"…"} for every .parquet file under the arguments:
//       the row count and an order-independent checksum, the sum of hash() of each row with its
//       columns taken by name in sorted order (so a file whose columns come in another order
//       sums the same). Inputs and outputs are digested by this same engine version.
//
//   node rollup_duckdb.mjs pipeline IN_DIR WORK_DIR OUT_DIR
//       the DuckDB-only roll-up: IN_DIR holds minute files at <…>/YYYY/MM/DD/HH/<file>.parquet;
//       for each hour directory one COPY (SELECT * FROM read_parquet([its files, sorted])) writes
//       WORK_DIR/<…>/YYYY/MM/DD/<table>_YYYYMMDDHH.parquet, then for each day one COPY of its hour
//       files writes OUT_DIR/<…>/YYYY/MM/<table>_YYYYMMDD.parquet (lakepack's layout and names).
//       Snappy, DuckDB's default row groups. Prints {"hours":N,"days":N,"seconds":S,
//       "hours_seconds":S,"day_seconds":S}.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

function parquetFiles(p, out = []) {
  const st = statSync(p);
  if (st.isFile()) {
    if (p.endsWith('.parquet')) out.push(p);
    return out;
  }
  for (const e of readdirSync(p, { withFileTypes: true })) parquetFiles(path.join(p, e.name), out);
  return out;
}

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
const sqlList = (files) => `[${files.map(sqlString).join(', ')}]`;
const ident = (s) => `"${s.replaceAll('"', '""')}"`;

async function digest(conn, args) {
  const files = args.flatMap((a) => parquetFiles(a)).sort();
  if (files.length === 0) throw new Error('digest: no .parquet files');
  const src = `read_parquet(${sqlList(files)}, union_by_name = true)`;
  const cols = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`))
    .getRowObjects()
    .map((r) => r.column_name)
    .sort();
  const row = `struct_pack(${cols.map((c) => `${ident(c)} := ${ident(c)}`).join(', ')})`;
  const r = await conn.runAndReadAll(
    `SELECT count(*)::VARCHAR AS n, sum(hash(${row}))::VARCHAR AS s FROM ${src}`);
  const [n, s] = r.getRows()[0];
  return { files: files.length, rows: Number(n), checksum: s ?? '0' };
}

async function pipeline(conn, inDir, workDir, outDir) {
  const t0 = process.hrtime.bigint();
  // Minute files grouped by their hour directory <rel>/YYYY/MM/DD/HH.
  const hours = new Map();
  for (const f of parquetFiles(inDir).sort()) {
    const rel = path.relative(inDir, path.dirname(f));
    if (!/\d{4}\/\d\d\/\d\d\/\d\d$/.test(rel)) throw new Error(`not in an hour directory: ${f}`);
    if (!hours.has(rel)) hours.set(rel, []);
    hours.get(rel).push(f);
  }
  const days = new Map();
  for (const [rel, files] of [...hours].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts = rel.split('/');
    const [yyyy, mm, dd, hh] = parts.slice(-4);
    const table = parts.length > 4 ? parts[parts.length - 5] : 'data';
    const dayRel = parts.slice(0, -1).join('/');
    const out = path.join(workDir, dayRel, `${table}_${yyyy}${mm}${dd}${hh}.parquet`);
    mkdirSync(path.dirname(out), { recursive: true });
    await conn.run(`COPY (SELECT * FROM read_parquet(${sqlList(files)}, union_by_name = true)) ` +
      `TO ${sqlString(out)} (FORMAT parquet, COMPRESSION snappy)`);
    if (!days.has(dayRel)) days.set(dayRel, { table, yyyy, mm, dd, files: [] });
    days.get(dayRel).files.push(out);
  }
  const t1 = process.hrtime.bigint();
  for (const [dayRel, d] of days) {
    const monthRel = dayRel.split('/').slice(0, -1).join('/');
    const out = path.join(outDir, monthRel, `${d.table}_${d.yyyy}${d.mm}${d.dd}.parquet`);
    mkdirSync(path.dirname(out), { recursive: true });
    await conn.run(`COPY (SELECT * FROM read_parquet(${sqlList(d.files)}, union_by_name = true)) ` +
      `TO ${sqlString(out)} (FORMAT parquet, COMPRESSION snappy)`);
  }
  const t2 = process.hrtime.bigint();
  const secs = (a, b) => Number((Number(b - a) / 1e9).toFixed(2));
  return {
    hours: hours.size, days: days.size, seconds: secs(t0, t2),
    hours_seconds: secs(t0, t1), day_seconds: secs(t1, t2),
  };
}

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  const usage = 'usage: rollup_duckdb.mjs digest PATH... | pipeline IN_DIR WORK_DIR OUT_DIR';
  if (!(cmd === 'digest' && args.length >= 1) && !(cmd === 'pipeline' && args.length === 3)) {
    console.error(usage);
    process.exit(2);
  }
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  const result = cmd === 'digest' ? await digest(conn, args) : await pipeline(conn, ...args);
  console.log(JSON.stringify(result));
  conn.closeSync();
  instance.closeSync();
}

main().catch((e) => {
  console.error(`rollup_duckdb.mjs: ${e.message}`);
  process.exit(1);
});
