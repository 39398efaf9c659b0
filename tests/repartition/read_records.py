#!/usr/bin/python3
"""Reads Avro container files with python3-avro (Debian's) and prints every record as one
canonical line (a JSON array of the RawDatum fields in schema order; doubles as the hex of
their IEEE-754 bits, so that no float formatting differs between readers), one line per record,
in file order. tests/xread/avro_records.mjs prints the same lines with avsc. Exit 1 on a file that
does not read. Run with /usr/bin/python3.

  read_records.py FILE...
"""
import json
import struct
import sys

import avro.datafile
import avro.io

FIELDS = ["seriesId", "timeInSeconds", "offsetInNanos", "quality", "doubleValue", "stringValue",
          "integerValue", "booleanValue", "jsonValue", "recordVersion"]


def canon(rec):
    out = []
    for f in FIELDS:
        v = rec.get(f)
        if f == "doubleValue" and v is not None:
            v = struct.pack(">d", v).hex()
        out.append(v)
    return json.dumps(out, separators=(",", ":"))


def main():
    w = sys.stdout.write
    for path in sys.argv[1:]:
        try:
            with open(path, "rb") as f:
                r = avro.datafile.DataFileReader(f, avro.io.DatumReader())
                for rec in r:
                    w(canon(rec) + "\n")
        except Exception as e:  # noqa: BLE001
            sys.stderr.write(f"{path}: {e}\n")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
