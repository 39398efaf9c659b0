// Reads Avro container files with avsc (an independent JavaScript implementation) and prints,
// per file, a first line {"file", "codec", "meta"} (the user metadata, as text) and then one
// JSON object per record: unions as their plain value, bytes and fixed as strings of the code
// points 0-255 (the convention of lakepack's AvroToJsonLines). Snappy blocks are decompressed
// with hyparquet's snappy and their CRC-32 checked; null and deflate are avsc's own.
//   node avro_read.mjs FILE...        exit 1 if a file cannot be read
import avsc from 'avsc';
import { snappyUncompress } from 'hyparquet';
import zlib from 'node:zlib';

function snappy(buf, cb) {
  try {
    const data = buf.subarray(0, buf.length - 4);
    let len = 0, shift = 0, i = 0;
    for (;;) {  // the uncompressed length, a varint at the start of the snappy stream
      const b = data[i++];
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    const out = new Uint8Array(len);
    snappyUncompress(data, out);
    const crc = zlib.crc32 ? zlib.crc32(out) >>> 0 : null;
    if (crc !== null && crc !== buf.readUInt32BE(buf.length - 4)) throw new Error('snappy CRC-32 mismatch');
    cb(null, Buffer.from(out));
  } catch (e) {
    cb(e);
  }
}

function plain(v) {
  if (Buffer.isBuffer(v)) return String.fromCharCode(...v);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[k] = plain(x);
    return o;
  }
  return v;
}

function read(file) {
  return new Promise((resolve, reject) => {
    const dec = avsc.createFileDecoder(file, { codecs: { null: (b, cb) => cb(null, b),
      deflate: zlib.inflateRaw, snappy } });
    dec.on('metadata', (type, codec, header) => {
      const meta = {};
      for (const [k, v] of Object.entries(header.meta)) if (!k.startsWith('avro.')) meta[k] = v.toString('utf8');
      process.stdout.write(JSON.stringify({ file, codec, meta }) + '\n');
    });
    dec.on('data', (rec) => process.stdout.write(JSON.stringify(plain(rec)) + '\n'));
    dec.on('end', resolve);
    dec.on('error', reject);
  });
}

let failed = false;
for (const f of process.argv.slice(2)) {
  try {
    await read(f);
  } catch (e) {
    process.stdout.write(JSON.stringify({ file: f, error: String(e.message || e) }) + '\n');
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
