#!/usr/bin/env bash
# Creates TABLE (default public.permanent_data_items) with the Data Schema of the export
# reference (002): bytea ids, numeric(20,0), uuid, timestamps, nullable columns, bytea[],
# partitioned by month, and fills it with ROWS deterministic rows. Rows 0..SAME-1 share one
# uploaded_date (2024-01-15 12:00:00), more than one file's worth, so that keyset paging and
# resume are tested where the timestamp alone cannot order rows. Connection from PG* variables.
# usage: postgres_seed.sh ROWS [TABLE] [SAME]
set -euo pipefail
ROWS=${1:?usage: postgres_seed.sh ROWS [TABLE] [SAME]}
TABLE=${2:-public.permanent_data_items}
SAME=${3:-30000}
NAME=${TABLE#*.}
psql -v ON_ERROR_STOP=1 -q <<SQL
DROP TABLE IF EXISTS $TABLE;
CREATE TABLE $TABLE (
  data_item_id bytea NOT NULL,
  owner_public_address bytea NOT NULL,
  byte_count bigint NOT NULL,
  uploaded_date timestamp NOT NULL,
  assessed_winston_price numeric(20,0) NOT NULL,
  plan_id uuid NOT NULL,
  planned_date timestamp NOT NULL,
  bundle_id bytea,
  permanent_date timestamp,
  block_height integer NOT NULL,
  data_start integer,
  signature_type smallint,
  failed_bundles bytea[],
  content_type varchar,
  premium_feature_type varchar,
  deadline_height integer,
  PRIMARY KEY (uploaded_date, data_item_id)
) PARTITION BY RANGE (uploaded_date);
DO \$\$
DECLARE m date;
BEGIN
  FOR m IN SELECT generate_series(date '2023-12-01', date '2031-12-01', interval '1 month')::date LOOP
    EXECUTE format('CREATE TABLE %s_%s PARTITION OF $TABLE FOR VALUES FROM (%L) TO (%L)',
                   '$TABLE', to_char(m, 'YYYY_MM'), m, (m + interval '1 month')::date);
  END LOOP;
END \$\$;
INSERT INTO $TABLE
SELECT decode(md5(i::text) || md5((i * 7)::text), 'hex'),
       decode(md5('owner' || (i % 997)::text), 'hex'),
       (i * 7919) % 100000000,
       CASE WHEN i < $SAME THEN timestamp '2024-01-15 12:00:00'
            ELSE timestamp '2024-01-01' + (i * interval '37 seconds') + (i % 1000) * interval '1 microsecond' END,
       (i::numeric * 49999999999999) % 100000000000000000000,
       md5('plan' || (i % 50)::text)::uuid,
       timestamp '2024-01-01' + (i * interval '30 seconds'),
       CASE WHEN i % 5 = 0 THEN NULL ELSE decode(md5('bundle' || (i / 100)::text), 'hex') END,
       CASE WHEN i % 5 = 0 THEN NULL ELSE timestamp '2024-01-02' + (i * interval '37 seconds') END,
       1300000 + i / 10,
       CASE WHEN i % 3 = 0 THEN NULL ELSE i % 100000 END,
       CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 4)::smallint END,
       CASE i % 6 WHEN 0 THEN NULL WHEN 1 THEN '{}'::bytea[]
            WHEN 2 THEN ARRAY[decode(md5('fb' || i::text), 'hex'), NULL::bytea]
            ELSE ARRAY[decode(md5('fb' || i::text), 'hex'), decode(md5('fc' || i::text), 'hex')] END,
       CASE WHEN i % 3 = 0 THEN NULL WHEN i % 3 = 1 THEN 'image/png' ELSE 'text/plain; charset=ütf-8' END,
       CASE WHEN i % 7 = 0 THEN 'priority' ELSE NULL END,
       CASE WHEN i % 2 = 0 THEN NULL ELSE 1400000 + i END
FROM generate_series(0::bigint, $ROWS - 1) AS i;
ANALYZE $TABLE;
SQL
echo "postgres_seed.sh: $TABLE has $ROWS rows ($SAME share one uploaded_date)"
