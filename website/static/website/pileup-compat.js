/*
 * A fix for higlass-pileup 1.5.0 (the version pinned in package.json) drawing server tiles.
 *
 * 1.5.0 reads the BAM tiles of a HiGlass server in the format this server writes (the reference's,
 * clodius 0.18/0.20: absolute read positions, [query_pos, ref_pos, base] variants), but its
 * conversion of server rows leaves out `fromWithClipping`/`toWithClipping`, which the row layout
 * sorts by: every read then lands on a row of its own. (1.7.0 sets them, but expects another tile
 * format.) The plugin starts its worker from a Blob of source text; this adds the two fields to
 * that text. It changes nothing when the text is not found.
 */
(function () {
  "use strict";
  var NativeBlob = window.Blob;
  var BROKEN = "i.from += 1, i.to += 1, i.variants";
  var FIXED = "i.from += 1, i.to += 1, i.fromWithClipping = i.from, i.toWithClipping = i.to, i.variants";
  function Blob(parts, options) {
    if (parts && parts.length === 1 && typeof parts[0] === "string" && parts[0].indexOf(BROKEN) >= 0 &&
        parts[0].indexOf("serverFetchTilesDebounced") >= 0) {
      parts = [parts[0].replace(BROKEN, FIXED)];
    }
    return new NativeBlob(parts, options);
  }
  Blob.prototype = NativeBlob.prototype;
  window.Blob = Blob;
})();
