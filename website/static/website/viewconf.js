/*
 * The viewer's view-config builder: tilesets as /api/v1/tilesets/ lists them -> a HiGlass
 * view config, one track per tileset, chosen by its datatype (or, for a missing or unknown
 * datatype, by its filetype).
 *
 *   HGSViewConf.build(tilesets, {server, chromsizes, extent, plugins})
 *     -> {viewconf, tracks: [{uid, tileset, type, position}], skipped: [{tileset, reason}]}
 *
 * Pure: no DOM, no requests. Loaded as a script in the page (global HGSViewConf) and with
 * require() in node (the tests check its output against HiGlass's own view-config schema).
 */
(function (root, factory) {
  if (typeof module === "object" && module.exports) {
    module.exports = factory();
  } else {
    root.HGSViewConf = factory();
  }
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  // datatype -> HiGlass track. "center" tracks are 2-D and share one combined center track.
  var TRACKS = {
    matrix: { position: "center", type: "heatmap" },
    vector: { position: "top", type: "horizontal-line", height: 60 },
    multivec: { position: "top", type: "horizontal-multivec", height: 120 },
    "gene-annotation": { position: "top", type: "horizontal-gene-annotations", height: 90 },
    bedlike: { position: "top", type: "bedlike", height: 60 },
    "2d-rectangle-domains": { position: "center", type: "2d-rectangle-domains" },
    "2d-annotations": { position: "center", type: "2d-rectangle-domains" },
    "arrowhead-domains": { position: "center", type: "arrowhead-domains" },
    chromsizes: { position: "top", type: "horizontal-chromosome-labels", height: 30 },
    reads: { position: "top", type: "pileup", height: 200, plugin: "pileup" },
  };

  // What a filetype holds when its datatype is missing or unknown to the client.
  var FILETYPE_DATATYPES = {
    cooler: "matrix",
    bigwig: "vector",
    hitile: "vector",
    multivec: "multivec",
    beddb: "gene-annotation",
    bigbed: "bedlike",
    bed2ddb: "2d-rectangle-domains",
    "2dannodb": "2d-annotations",
    bam: "reads",
    "chromsizes-tsv": "chromsizes",
  };

  var OPTIONS = {
    heatmap: { labelPosition: "bottomRight", colorbarPosition: "topRight", heatmapValueScaling: "log" },
    "horizontal-line": { labelPosition: "topLeft", lineStrokeColor: "#1f5fa8", lineStrokeWidth: 1.5,
                          axisPositionHorizontal: "right", valueScaling: "linear" },
    "horizontal-multivec": { labelPosition: "topLeft", heatmapValueScaling: "linear" },
    "horizontal-gene-annotations": { labelPosition: "hidden", plusStrandColor: "#1f5fa8",
                                     minusStrandColor: "#c0392b", fontSize: 10 },
    bedlike: { labelPosition: "hidden", fillColor: "#1f5fa8", fillOpacity: 0.5, annotationStyle: "box" },
    "2d-rectangle-domains": { rectangleDomainFillColor: "#2b8a3e", rectangleDomainStrokeColor: "#2b8a3e",
                              rectangleDomainOpacity: 0.8, rectangleDomainFillOpacity: 0.25 },
    "arrowhead-domains": {},
    "horizontal-chromosome-labels": { color: "#555555", fontSize: 12 },
    // higlass-pileup 1.5.0 draws server tiles (clodius' BAM tiles) only without its coverage bars
    pileup: { showCoverage: false, axisPositionHorizontal: "right" },
  };

  function datatypeOf(tileset) {
    if (tileset.datatype && TRACKS[tileset.datatype]) return tileset.datatype;
    return FILETYPE_DATATYPES[tileset.filetype] || null;
  }

  function isChromsizes(tileset) {
    return datatypeOf(tileset) === "chromsizes";
  }

  /* The HiGlass track type a tileset is drawn with, or null. */
  function trackTypeOf(tileset, plugins) {
    var spec = TRACKS[datatypeOf(tileset)];
    if (!spec) return null;
    if (spec.plugin && !(plugins || {})[spec.plugin]) return null;
    return spec.type;
  }

  function copy(object) {
    var result = {};
    Object.keys(object || {}).forEach(function (key) { result[key] = object[key]; });
    return result;
  }

  function slug(text) {
    return String(text).replace(/[^A-Za-z0-9_-]/g, "_");
  }

  /* [start, end] of the genome from tileset_info answers (an object keyed by uuid). */
  function extentFromInfos(infos, chromsizesUid) {
    var chromInfo = chromsizesUid && infos[chromsizesUid];
    if (chromInfo && Array.isArray(chromInfo.chromsizes) && chromInfo.chromsizes.length) {
      return [0, chromInfo.chromsizes.reduce(function (sum, row) { return sum + Number(row[1]); }, 0)];
    }
    var end = 0;
    Object.keys(infos || {}).forEach(function (uid) {
      var info = infos[uid];
      if (!info || info.error) return;
      if (Array.isArray(info.max_pos) && info.max_pos.length) end = Math.max(end, Number(info.max_pos[0]));
      else if (Array.isArray(info.chromsizes)) {
        end = Math.max(end, info.chromsizes.reduce(function (sum, row) { return sum + Number(row[1]); }, 0));
      }
    });
    return end > 0 ? [0, end] : null;
  }

  /*
   * tilesets: tileset objects (uuid, name, datatype, filetype, coordSystem, ...), in track order.
   * options.server: the API base the client fetches from, e.g. "http://127.0.0.1:8000/api/v1".
   * options.chromsizes: a chromsizes tileset for labels, the chromosome grid and the position
   *   search box (a chromsizes tileset among `tilesets` wins).
   * options.extent: [start, end] shown first (e.g. from extentFromInfos), or null.
   * options.plugins: {pileup: true} when the plugin track is loaded.
   */
  function build(tilesets, options) {
    options = options || {};
    var server = String(options.server || "/api/v1").replace(/\/+$/, "");
    var plugins = options.plugins || {};
    var chromsizes = (tilesets || []).filter(isChromsizes)[0] || options.chromsizes || null;
    var top = [], left = [], center = [], tracks = [], skipped = [];
    var genes = null;
    var seen = {};

    function track(type, tileset, height, extra) {
      var definition = { uid: slug(type + "-" + tileset.uuid), type: type, server: server, tilesetUid: tileset.uuid };
      if (height) definition.height = height;
      var trackOptions = copy(OPTIONS[type]);
      Object.keys(extra || {}).forEach(function (key) { trackOptions[key] = extra[key]; });
      if (type !== "horizontal-chromosome-labels" && type !== "vertical-chromosome-labels" &&
          type !== "2d-chromosome-grid") {
        trackOptions.name = tileset.name || tileset.uuid;
      }
      definition.options = trackOptions;
      return definition;
    }

    (tilesets || []).forEach(function (tileset) {
      if (seen[tileset.uuid]) return;
      seen[tileset.uuid] = true;
      var datatype = datatypeOf(tileset);
      var spec = TRACKS[datatype];
      if (!spec) {
        skipped.push({ tileset: tileset, reason: "no track for datatype " + JSON.stringify(tileset.datatype) +
                       " (filetype " + JSON.stringify(tileset.filetype) + ")" });
        return;
      }
      if (spec.plugin && !plugins[spec.plugin]) {
        skipped.push({ tileset: tileset, reason: "the " + spec.plugin + " plugin track is not loaded" });
        return;
      }
      if (datatype === "chromsizes") return; // added below, once
      var definition = track(spec.type, tileset, spec.height);
      (spec.position === "center" ? center : top).push(definition);
      tracks.push({ uid: definition.uid, tileset: tileset, type: spec.type, position: spec.position });
      if (datatype === "gene-annotation" && !genes) genes = tileset;
    });

    if (chromsizes) {
      var labels = track("horizontal-chromosome-labels", chromsizes, 30);
      top.unshift(labels);
      tracks.unshift({ uid: labels.uid, tileset: chromsizes, type: labels.type, position: "top" });
      if (center.length) {
        var vertical = track("vertical-chromosome-labels", chromsizes, null);
        vertical.width = 30;
        delete vertical.height;
        left.push(vertical);
        center.push(track("2d-chromosome-grid", chromsizes, null, { lineStrokeColor: "#9a9a9a", lineStrokeWidth: 1 }));
      }
    }

    var view = {
      uid: "view-1",
      layout: { w: 12, h: 12, x: 0, y: 0 },
      tracks: { top: top, left: left, center: [], right: [], bottom: [], whole: [], gallery: [] },
    };
    if (center.length) {
      view.tracks.center = [{ uid: "center", type: "combined", contents: center }];
    }
    if (options.extent) {
      view.initialXDomain = [options.extent[0], options.extent[1]];
      if (center.length) view.initialYDomain = [options.extent[0], options.extent[1]];
    }
    if (chromsizes) {
      view.chromInfoPath = server + "/chrom-sizes/?id=" + encodeURIComponent(chromsizes.uuid);
      view.genomePositionSearchBox = {
        chromInfoServer: server,
        chromInfoId: chromsizes.uuid,
        visible: true,
      };
      if (genes) {
        view.genomePositionSearchBox.autocompleteServer = server;
        view.genomePositionSearchBox.autocompleteId = genes.uuid;
        view.autocompleteSource = server + "/suggest/?d=" + encodeURIComponent(genes.uuid) + "&";
      }
    }

    var viewconf = {
      editable: true,
      zoomFixed: false,
      trackSourceServers: [server],
      exportViewUrl: server + "/viewconfs/",
      views: [view],
      zoomLocks: { locksByViewUid: {}, locksDict: {} },
      locationLocks: { locksByViewUid: {}, locksDict: {} },
      valueScaleLocks: { locksByViewUid: {}, locksDict: {} },
    };
    return { viewconf: viewconf, tracks: tracks, skipped: skipped, chromsizes: chromsizes };
  }

  return {
    TRACKS: TRACKS,
    FILETYPE_DATATYPES: FILETYPE_DATATYPES,
    datatypeOf: datatypeOf,
    trackTypeOf: trackTypeOf,
    extentFromInfos: extentFromInfos,
    build: build,
  };
});
