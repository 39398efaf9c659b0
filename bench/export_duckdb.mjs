// The export reference's own method (002, pg_to_parquet_etl.sh), for bench/export.sh: pull
// CHUNK rows at a time from PostgreSQL with psql (keyset on uploaded_date, data_item_id, CSV
// text), load each chunk into a DuckDB buffer table, and every FLUSH rows normalise the buffer
// (hex bytea → BLOB, bytea[] text → BLOB[]) and have DuckDB write one ZSTD Parquet file.
// Connection from the PG* variables.   node export_duckdb.mjs TABLE OUTDIR [CHUNK] [FLUSH]
import { DuckDBInstance } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [table, outDir, chunkArg, flushArg] = process.argv.slice(2);
const CHUNK = Number(chunkArg || 10000), FLUSH = Number(flushArg || 20000);
fs.mkdirSync(outDir, { recursive: true });
const db = await DuckDBInstance.create(':memory:');
const c = await db.connect();
const cols = `data_item_id VARCHAR, owner_public_address VARCHAR, byte_count BIGINT,
  uploaded_date TIMESTAMP, assessed_winston_price DECIMAL(20,0), plan_id UUID,
  planned_date TIMESTAMP, bundle_id VARCHAR, permanent_date TIMESTAMP, block_height INTEGER,
  data_start INTEGER, signature_type SMALLINT, failed_bundles VARCHAR, content_type VARCHAR,
  premium_feature_type VARCHAR, deadline_height INTEGER`;
await c.run(`CREATE TABLE raw (${cols})`);
const csv = path.join(outDir, '.chunk.csv');
let last = null, files = 0, total = 0, buffered = 0;
const blob = (x) => `CASE WHEN ${x} IS NULL THEN NULL ELSE unhex(substr(${x}, 3)) END`;
async function flush() {
  if (buffered === 0) return;
  const f = path.join(outDir, `part-${String(files).padStart(6, '0')}.parquet`);
  await c.run(`COPY (SELECT ${blob('data_item_id')} AS data_item_id,
      ${blob('owner_public_address')} AS owner_public_address, byte_count, uploaded_date,
      assessed_winston_price, plan_id, planned_date, ${blob('bundle_id')} AS bundle_id,
      permanent_date, block_height, data_start, signature_type,
      CASE WHEN failed_bundles IS NULL THEN NULL WHEN failed_bundles = '{}' THEN []::BLOB[]
           ELSE list_transform(string_split(trim(failed_bundles, '{}'), ','),
                e -> CASE WHEN e = 'NULL' THEN NULL ELSE unhex(substr(replace(e, '"', ''), 4)) END)
      END AS failed_bundles, content_type, premium_feature_type, deadline_height
    FROM raw ORDER BY uploaded_date, data_item_id) TO '${f}' (FORMAT parquet, COMPRESSION zstd)`);
  await c.run('DELETE FROM raw');
  files++;
  buffered = 0;
}
for (;;) {
  const where = last
    ? `WHERE (uploaded_date, data_item_id) > ('${last.ts}'::timestamp, '${last.id}'::bytea)`
    : '';
  execFileSync('psql', ['-qAtX', '-c',
    `\\copy (SELECT * FROM ${table} ${where} ORDER BY uploaded_date, data_item_id LIMIT ${CHUNK}) TO '${csv}' (FORMAT csv)`]);
  if (fs.statSync(csv).size === 0) break;
  const before = buffered;
  await c.run(`INSERT INTO raw SELECT * FROM read_csv('${csv}', header=false, delim=',', quote='"', escape='"', columns={${
    cols.split(/,\n?\s*(?=[a-z_]+ )/).map((d) => { const [n, ...t] = d.trim().split(/\s+/); return `'${n}': '${t.join(' ')}'`; }).join(', ')}})`);
  const n = Number((await c.runAndReadAll('SELECT count(*) FROM raw')).getRows()[0][0]);
  const got = n - before;
  buffered = n;
  total += got;
  if (got === 0) break;
  const r = (await c.runAndReadAll(
    `SELECT strftime(uploaded_date, '%Y-%m-%d %H:%M:%S.%f'), data_item_id FROM raw
     ORDER BY uploaded_date DESC, data_item_id DESC LIMIT 1`)).getRows()[0];
  last = { ts: r[0], id: r[1] };
  if (buffered >= FLUSH) await flush();
  if (got < CHUNK) break;
}
await flush();
fs.rmSync(csv, { force: true });
console.log(JSON.stringify({ files, rows: total }));
