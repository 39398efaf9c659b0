// DuckDB alone (through @duckdb/node-api) doing bench/pack.sh's job: every CSV file of IN_DIR
// into snappy Parquet files of about TARGET with COPY ... (FILE_SIZE_BYTES).
//
//   node pack_duckdb.mjs IN_DIR OUT_DIR TARGET     (TARGET as DuckDB takes it: '256MB')
// Prints {"rows":N,"seconds":S}.
//
//   node pack_duckdb.mjs gen FILE ROWS SEED
// writes a CSV of ROWS rows of a plain event schema (ints, a timestamp, a decimal, short and
// md5 strings, a boolean, a double): the seeds' sample schema holds escaped BLOB text that
// DuckDB's parallel CSV reader refuses on files of hundreds of MB.
import { DuckDBInstance } from '@duckdb/node-api';
import { readdirSync } from 'node:fs';
import path from 'node:path';

const sqlString = (s) => `'${s.replaceAll("'", "''")}'`;
if (process.argv[2] === 'gen') {
  const [file, rows, seed] = process.argv.slice(3);
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  await conn.run(
    `COPY (SELECT i AS event_id, (hash(i + ${seed}) % 1000000)::INTEGER AS user_id, ` +
      `TIMESTAMP '2025-01-01' + to_microseconds(i * 1000) AS event_time, ` +
      `((hash(i * 7 + ${seed}) % 10000000) / 100)::DECIMAL(12,2) AS amount, ` +
      `['view','click','buy','share','refund'][1 + (i % 5)::INTEGER] AS kind, ` +
      `md5((i + ${seed})::VARCHAR) AS session, (i % 3 = 0) AS flagged, ` +
      `(hash(i) % 100000) / 1000.0 AS score, ` +
      `CASE WHEN i % 4 = 0 THEN NULL ELSE 'note ' || (i % 977)::VARCHAR END AS note ` +
      `FROM range(${rows}) t(i)) TO ${sqlString(file)} (FORMAT csv, HEADER true)`,
  );
  process.exit(0);
}
const [inDir, outDir, target] = process.argv.slice(2);
const files = readdirSync(inDir)
  .filter((f) => f.endsWith('.csv'))
  .sort()
  .map((f) => sqlString(path.join(inDir, f)));
const db = await DuckDBInstance.create(':memory:');
const conn = await db.connect();
const t0 = Date.now();
const r = await conn.runAndReadAll(
  `COPY (SELECT * FROM read_csv([${files.join(', ')}], union_by_name = true, header = true)) ` +
    `TO ${sqlString(outDir)} (FORMAT parquet, COMPRESSION snappy, FILE_SIZE_BYTES ${sqlString(target)})`,
);
const rows = Number(r.getRows()[0][0]);
console.log(JSON.stringify({ rows, seconds: (Date.now() - t0) / 1000 }));
