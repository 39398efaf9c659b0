// Reads Avro container files with avsc (npm) and prints every record as one canonical line,
// the same lines as tests/repartition/read_records.py prints with python3-avro: a JSON array of
// the RawDatum fields in schema order, doubles as the hex of their IEEE-754 bits. Exit 1 on a
// file that does not read.
//   node avro_records.mjs FILE...
import avro from 'avsc';
import { snappyUncompress } from 'hyparquet';
import zlib from 'node:zlib';

const FIELDS = ['seriesId', 'timeInSeconds', 'offsetInNanos', 'quality', 'doubleValue',
  'stringValue', 'integerValue', 'booleanValue', 'jsonValue', 'recordVersion'];

// avsc decodes a union of null and T as the bare value (wrapUnions false for such unions).
function canon(rec) {
  return JSON.stringify(FIELDS.map((f) => {
    let v = rec[f];
    if (v === undefined) v = null;
    if (v !== null && typeof v === 'object') v = Object.values(v)[0];
    if (f === 'doubleValue' && v !== null) {
      const b = Buffer.alloc(8);
      b.writeDoubleBE(v);
      v = b.toString('hex');
    }
    return v;
  }));
}

// Avro's snappy codec: raw snappy data, then the CRC-32 (big-endian) of the uncompressed bytes.
function snappy(buf, cb) {
  try {
    const data = buf.subarray(0, buf.length - 4);
    let len = 0;
    for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
      len += (data[i] & 0x7f) * 2 ** shift;
      if (!(data[i] & 0x80)) break;
    }
    const out = new Uint8Array(len);
    snappyUncompress(data, out);
    const body = Buffer.from(out.buffer, out.byteOffset, out.length);
    if (zlib.crc32(body) !== buf.readUInt32BE(buf.length - 4)) throw new Error('snappy CRC mismatch');
    cb(null, body);
  } catch (e) {
    cb(e);
  }
}

function readOne(path) {
  return new Promise((resolve, reject) => {
    const lines = [];
    avro.createFileDecoder(path, { codecs: { snappy, deflate: zlib.inflateRaw, null: (b, cb) => cb(null, b) } })
      .on('data', (rec) => lines.push(canon(rec)))
      .on('error', reject)
      .on('end', () => resolve(lines));
  });
}

let status = 0;
for (const path of process.argv.slice(2)) {
  try {
    const lines = await readOne(path);
    if (lines.length) process.stdout.write(lines.join('\n') + '\n');
  } catch (e) {
    process.stderr.write(`${path}: ${e.message}\n`);
    status = 1;
    break;
  }
}
process.exit(status);
