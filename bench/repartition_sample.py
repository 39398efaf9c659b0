#!/usr/bin/python3
"""The AWS sample's merge (repartition_data.py of aws-samples/aws-iot-sitewise-cold-tier-
repartitioning), the baseline of bench/repartition.sh: python3-avro reads every record of every
raw file of a day and appends it to one DataFileWriter (the first input's schema and codec).
Needs Debian's python3-avro (and python3-snappy): run with /usr/bin/python3.

  repartition_sample.py DAY_DIR OUT.avro      (DAY_DIR: raw/startYear=Y/startMonth=M/startDay=D)
"""
import os
import sys

import avro.datafile
import avro.io


def main():
    day_dir, out = sys.argv[1], sys.argv[2]
    files = sorted(os.path.join(d, f) for d, _, names in os.walk(day_dir) for f in names
                   if f.endswith(".avro"))
    writer = None
    records = 0
    with open(out, "wb") as o:
        for path in files:
            with open(path, "rb") as f:
                reader = avro.datafile.DataFileReader(f, avro.io.DatumReader())
                if writer is None:
                    codec = reader.get_meta("avro.codec").decode() if reader.get_meta("avro.codec") else "null"
                    writer = avro.datafile.DataFileWriter(o, avro.io.DatumWriter(),
                                                          reader.datum_reader.writers_schema,
                                                          codec=codec)
                for record in reader:
                    writer.append(record)
                    records += 1
                reader.close()
        if writer is not None:
            writer.close()
    print(f"{len(files)} files, {records} records")


if __name__ == "__main__":
    main()
