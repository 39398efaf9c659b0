// Preloaded into s3rver (node --require) by start.sh.
//
// s3rver 3.7.1's filesystem store races with itself: after a DELETE it removes
// the key's directories that became empty, while a PUT into the same directory
// may already have made it (mkdirp) and not yet opened its file. The open then
// fails with ENOENT on an unhandled stream error and the whole server dies.
// lakepack's journal and lease directories see exactly that pattern (one task
// deletes its record while another writes its own), so a parallel test run
// crashed s3rver now and then.
//
// This replaces deleteObject with the same unlinks minus the pruning. Empty
// directories are invisible to clients: s3rver lists keys from its object
// files only, so no listing changes.
'use strict';

const fs = require('fs');
const Store = require('s3rver/lib/stores/filesystem');

if (typeof Store.prototype.deleteObject !== 'function' ||
    typeof Store.prototype.getResourcePath !== 'function') {
  throw new Error('s3rver_no_prune.js: s3rver changed; recheck the race it works around');
}

Store.prototype.deleteObject = async function deleteObject(bucket, key) {
  const unlink = (file) => fs.promises.unlink(file).catch((err) => {
    if (err.code !== 'ENOENT') throw err;
  });
  await Promise.all(['object', 'object.md5', 'metadata.json'].map(
      (kind) => unlink(this.getResourcePath(bucket, key, kind))));
};
