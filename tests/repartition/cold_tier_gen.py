#!/usr/bin/python3
"""Writes a synthetic AWS IoT SiteWise cold tier (raw/ only) for lakepack repartition's tests
and bench: RawDatum Avro container files (snappy by default) at the exact key layout
raw/startYear=Y/startMonth=M/startDay=D/seriesBucket=XX/raw_{id}_{startTimestamp}_{quality}.avro,
ids of the form assetId_propertyId (73 characters, '_' inside), one file per 6-hour export.
Deterministic for given arguments. Needs Debian's python3-avro (and python3-snappy); run it with
/usr/bin/python3, not a pyenv python.

  cold_tier_gen.py DIR --start 2023-01-07 --days 3 --series 20 --exports 4 --records 50
                   [--codec snappy|deflate|null] [--series-offset N] [--only-export 3]
                   [--property-seed P] [--datastream]
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import uuid

import avro.datafile
import avro.io
import avro.schema

SCHEMA = {
    "type": "record", "name": "RawDatum", "namespace": "amazon.aws.iot.sitewise.raw",
    "fields": [
        {"type": "string", "name": "seriesId"},
        {"type": "long", "name": "timeInSeconds"},
        {"type": "long", "name": "offsetInNanos"},
        {"type": "string", "name": "quality"},
        {"type": ["null", "double"], "name": "doubleValue", "default": None},
        {"type": ["null", "string"], "name": "stringValue", "default": None},
        {"type": ["null", "int"], "name": "integerValue", "default": None},
        {"type": ["null", "boolean"], "name": "booleanValue", "default": None},
        {"type": ["null", "string"], "name": "jsonValue", "default": None},
        {"type": ["null", "long"], "name": "recordVersion", "default": None},
    ],
}


def series_id(n, property_seed=0, datastream=False):
    rnd = random.Random(n)
    asset = uuid.UUID(int=rnd.getrandbits(128), version=4)
    prop = uuid.UUID(int=rnd.getrandbits(128), version=4)
    if datastream:
        # A data stream not associated with an asset property: its id is a bare UUID.
        return str(uuid.UUID(int=random.Random(f"stream/{n}").getrandbits(128), version=4))
    if property_seed:
        # Another property of the same asset: a new series id of an existing asset.
        prop = uuid.UUID(int=random.Random(f"{n}/{property_seed}").getrandbits(128), version=4)
    return f"{asset}_{prop}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--start", default="2023-01-07")
    ap.add_argument("--days", type=int, default=3)
    ap.add_argument("--series", type=int, default=20)
    ap.add_argument("--series-offset", type=int, default=0)
    ap.add_argument("--exports", type=int, default=4, help="6-hourly files per series per day")
    ap.add_argument("--only-export", type=int, default=-1,
                    help="write only this export index (0-3): a late file")
    ap.add_argument("--property-seed", type=int, default=0,
                    help="new properties of the same assets (new series ids, same asset ids)")
    ap.add_argument("--datastream", action="store_true",
                    help="series of data streams not associated with an asset (bare UUID ids)")
    ap.add_argument("--records", type=int, default=50)
    ap.add_argument("--codec", default="snappy")
    args = ap.parse_args()
    schema = avro.schema.parse(json.dumps(SCHEMA))
    day0 = datetime.datetime.strptime(args.start, "%Y-%m-%d").replace(tzinfo=datetime.timezone.utc)
    written = 0
    for d in range(args.days):
        day = day0 + datetime.timedelta(days=d)
        for s in range(args.series_offset, args.series_offset + args.series):
            sid = series_id(s, args.property_seed, args.datastream)
            bucket = hashlib.md5(sid.encode()).hexdigest()[:2]
            for e in range(args.exports):
                if args.only_export >= 0 and e != args.only_export:
                    continue
                start_ts = int(day.timestamp()) + e * 6 * 3600
                quality = "GOOD" if (s + e) % 5 else "UNCERTAIN"
                rel = (f"raw/startYear={day.year}/startMonth={day.month}/startDay={day.day}/"
                       f"seriesBucket={bucket}/raw_{sid}_{start_ts}_{quality}.avro")
                path = os.path.join(args.dir, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                rnd = random.Random(f"{sid}/{start_ts}")
                with open(path, "wb") as f:
                    w = avro.datafile.DataFileWriter(f, avro.io.DatumWriter(), schema,
                                                     codec=args.codec)
                    for r in range(args.records):
                        kind = (s + r) % 4
                        w.append({
                            "seriesId": sid,
                            "timeInSeconds": start_ts + r * 60,
                            "offsetInNanos": rnd.randrange(0, 10**9),
                            "quality": quality,
                            "doubleValue": rnd.random() * 100 if kind == 0 else None,
                            "stringValue": f"s{rnd.randrange(1000)}" if kind == 1 else None,
                            "integerValue": rnd.randrange(-1000, 1000) if kind == 2 else None,
                            "booleanValue": bool(rnd.randrange(2)) if kind == 3 else None,
                            "jsonValue": None,
                            "recordVersion": r if r % 7 == 0 else None,
                        })
                    w.close()
                written += 1
    print(written)


if __name__ == "__main__":
    main()
