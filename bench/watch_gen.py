#!/usr/bin/env python3
"""CSV files for bench/watch.sh: python3 watch_gen.py OUT_DIR FILES TOTAL_BYTES

Writes FILES CSV files of about TOTAL_BYTES in all (sizes uneven, 0.4x to 1.6x the mean) under
OUT_DIR/site_K/batch_NNNN.csv, cycling through three schemas: events (ints, a timestamp with
microseconds, floats, strings some quoted with commas and quotes, a boolean, a nullable string),
metrics (a timestamp, strings, floats, a big int, a status code) and orders (ints, timestamps, a
nullable timestamp, floats, strings). Deterministic: the same arguments give the same bytes.
Prints one JSON line per file: {"file": relative name, "bytes", "rows", "md5"}.
TOTAL_BYTES takes a suffix: 50MB, 1GB, 1GiB.
"""
import hashlib, json, math, os, random, sys, time
from multiprocessing import Pool

def parse_bytes(s):
    s = s.strip().upper()
    for suf, mul in (("GIB", 1 << 30), ("MIB", 1 << 20), ("KIB", 1 << 10), ("GB", 10**9), ("MB", 10**6), ("KB", 10**3), ("B", 1)):
        if s.endswith(suf):
            return int(float(s[: -len(suf)]) * mul)
    return int(s)

WORDS = ("alpha bravo charlie delta echo foxtrot golf hotel india juliett kilo lima mike "
         "november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu").split()
COUNTRIES = ["DE", "FR", "US", "JP", "BR", "IN", "NG", "SE", "ES", "CA"]
HOSTS = [f"node-{i:03d}.eu-west" for i in range(64)]
PATHS = ["/", "/api/v1/items", "/api/v1/users/{id}", "/login", "/static/app.js", "/search?q=a,b"]
STATUS = (200, 200, 200, 201, 304, 404, 500)
CURRENCIES = ("EUR", "USD", "JPY")
EPOCH = 1735689600  # 2025-01-01T00:00:00Z

_TS = {}
def ts(sec, us=None):  # "YYYY-MM-DD HH:MM:SS[.ffffff]", the second cached
    s = _TS.get(sec)
    if s is None:
        t = time.gmtime(sec)
        s = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d} {t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
        if len(_TS) > 100_000: _TS.clear()
        _TS[sec] = s
    return s if us is None else f"{s}.{us:06d}"

def q(s):  # RFC 4180 quoting when needed
    return '"' + s.replace('"', '""') + '"' if ('"' in s or ',' in s or '\n' in s) else s

# Row makers use only r.random() (one C call per draw) to stay fast; deterministic per file.
def events(r, i, n):
    u = r.random
    sec = EPOCH + i * 3600 + n
    name = " ".join(WORDS[int(u() * 26)] for _ in range(1 + int(u() * 4)))
    if u() < 0.1: name += ', "quoted"'
    note = "" if u() < 0.3 else f"{WORDS[int(u() * 26)]}-{int(u() * 1000)}"
    return (f"{i * 10_000_000 + n},{ts(sec, int(u() * 1e6))},{1 + int(u() * 5e6)},"
            f"{int(u() * 1e8) / 100:.2f},{(u() + u() + u() - 1.5) * 2:.6f},{q(name)},"
            f"{COUNTRIES[int(u() * 10)]},{'true' if u() < 0.5 else 'false'},{note}\n")

def metrics(r, i, n):
    u = r.random
    sec = EPOCH + i * 3600 + n // 4
    return (f"{ts(sec)},{HOSTS[int(u() * 64)]},{u() * 100:.3f},{(1 << 20) + int(u() * (1 << 36))},"
            f"{-40 * math.log(1 - u()):.4f},{STATUS[int(u() * 7)]},{q(PATHS[int(u() * 6)])}\n")

def orders(r, i, n):
    u = r.random
    sec = EPOCH + i * 3600 + n * 3
    shipped = "" if u() < 0.2 else ts(sec + 3600 + int(u() * 6 * 86400), 0)
    cust = WORDS[int(u() * 26)].capitalize() + " " + WORDS[int(u() * 26)].capitalize()
    return (f"{i * 10_000_000 + n},{ts(sec, int(u() * 1e6))},{q(cust)},{1 + int(u() * 50)},"
            f"{99 + int(u() * 99_900) / 100:.2f},{CURRENCIES[int(u() * 3)]},{shipped}\n")

SCHEMAS = [
    ("id,ts,user_id,amount,score,name,country,active,note\n", events),
    ("ts,host,cpu_pct,mem_bytes,latency_ms,status,path\n", metrics),
    ("order_id,created_at,customer,qty,price,currency,shipped_at\n", orders),
]

def make(args):
    out, rel, i, target = args
    r = random.Random(i)
    header, row = SCHEMAS[i % len(SCHEMAS)]
    path = os.path.join(out, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    size, n, buf = len(header), 0, [header]
    while size < target:
        line = row(r, i, n)
        buf.append(line); size += len(line); n += 1
    data = "".join(buf).encode()
    with open(path, "wb") as f:
        f.write(data)
    return {"file": rel, "bytes": len(data), "rows": n, "md5": hashlib.md5(data).hexdigest()}

def main():
    out, files, total = sys.argv[1], int(sys.argv[2]), parse_bytes(sys.argv[3])
    r = random.Random(20261201)
    weights = [r.uniform(0.4, 1.6) for _ in range(files)]  # uneven sizes, as drops are
    s = sum(weights)
    jobs = [(out, f"site_{i % 8}/batch_{i:04d}.csv", i, max(1, int(total * w / s))) for i, w in enumerate(weights)]
    with Pool(os.cpu_count()) as p:
        for m in p.imap(make, jobs):
            print(json.dumps(m), flush=True)

if __name__ == "__main__":
    main()
