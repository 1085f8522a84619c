/*
 * The viewer page: a tileset browser (search, paging, selection) over /api/v1/tilesets/, and
 * the HiGlass client (hglib) showing the selection with a view config from HGSViewConf.
 *
 * The page's settings come from <script id="hgs-config" type="application/json">:
 *   api        the API base, e.g. "/api/v1" or "http://127.0.0.1:8000/api/v1" (another origin works)
 *   pageSize   tilesets per page
 *   csrfToken  Django's CSRF token (session users must send it with a POST)
 *   authToken  optional "Token <key>" sent as the Authorization header by the page and the client
 *   viewerUrl  the page's own address, for the links of saved views
 *
 * URL parameters: ?config=<uid> opens a saved view config; ?d=<uuid>&d=<uuid> opens tilesets.
 * window.hgsViewer exposes the state for scripts and tests (hgsViewer.ready is a promise that
 * resolves when the current view has fetched and drawn its tiles).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("hgs-config").textContent);
  var api = new URL(config.api || "/api/v1", window.location.href).href.replace(/\/+$/, "");
  var viewerUrl = new URL(config.viewerUrl || window.location.pathname, window.location.href);
  var SAFE_METHODS = { GET: 1, HEAD: 1, OPTIONS: 1, TRACE: 1 };

  var state = {
    query: "",
    offset: 0,
    limit: config.pageSize || 20,
    count: 0,
    results: [],
    selected: new Map(), // uuid -> tileset, kept across pages and searches
    hgApi: null,
    viewconf: null,
    tracks: [],
    skipped: [],
    infoErrors: [],
  };

  var hgsViewer = {
    api: api,
    state: state,
    ready: Promise.resolve(),
    hgApi: null,
  };
  window.hgsViewer = hgsViewer;

  function $(id) {
    return document.getElementById(id);
  }

  function sameOrigin(url) {
    return new URL(url, window.location.href).origin === window.location.origin;
  }

  function cookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|;\\s*)" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function csrfToken() {
    return cookie("csrftoken") || config.csrfToken || "";
  }

  // The client's own "export as link" POSTs to /viewconfs/ with the session cookie but no CSRF
  // header; Django refuses that for logged-in users. Add the header to same-origin writes.
  var nativeFetch = window.fetch.bind(window);
  window.fetch = function (input, init) {
    var url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
    var method = ((init && init.method) || (input && input.method) || "GET").toUpperCase();
    if (!SAFE_METHODS[method] && sameOrigin(url) && csrfToken()) {
      init = Object.assign({}, init);
      var headers = new Headers((init && init.headers) || (input && input.headers) || {});
      if (!headers.has("X-CSRFToken")) headers.set("X-CSRFToken", csrfToken());
      init.headers = headers;
    }
    return nativeFetch(input, init);
  };

  function request(url, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    if (config.authToken) headers.Authorization = config.authToken;
    if (options.body) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: options.method || "GET",
      headers: headers,
      body: options.body,
      credentials: sameOrigin(url) ? "same-origin" : "omit",
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try {
          data = text ? JSON.parse(text) : null;
        } catch (error) {
          data = null;
        }
        if (!response.ok) {
          var message = (data && (data.error || data.detail)) || response.status + " " + response.statusText;
          throw new Error(message);
        }
        return data;
      });
    });
  }

  function setStatus(text, kind) {
    var element = $("status");
    element.textContent = text || "";
    element.className = "status" + (kind ? " " + kind : "");
  }

  function setViewState(value) {
    document.body.setAttribute("data-view-state", value);
  }

  function clientAvailable() {
    return typeof window.hglib !== "undefined" && typeof window.hglib.viewer === "function";
  }

  function pileupAvailable() {
    return !!(window.higlassTracksByType && window.higlassTracksByType.pileup);
  }

  // --- the tileset browser ---------------------------------------------------------------------

  function loadPage() {
    var params = new URLSearchParams({ limit: String(state.limit), offset: String(state.offset), o: "name" });
    if (state.query) params.set("ac", state.query);
    $("tileset-rows").setAttribute("aria-busy", "true");
    return request(api + "/tilesets/?" + params.toString())
      .then(function (data) {
        state.count = data.count;
        state.results = data.results || [];
        if (state.offset > 0 && state.offset >= state.count) {
          state.offset = Math.max(0, (Math.ceil(state.count / state.limit) - 1) * state.limit);
          return loadPage();
        }
        renderTable();
      })
      .catch(function (error) {
        renderTable();
        setStatus("Cannot list tilesets: " + error.message, "error");
      })
      .then(function () {
        $("tileset-rows").removeAttribute("aria-busy");
      });
  }

  function cell(text, className) {
    var td = document.createElement("td");
    td.textContent = text == null || text === "" ? "—" : text;
    if (className) td.className = className;
    return td;
  }

  function renderTable() {
    var body = $("tileset-rows");
    body.textContent = "";
    if (!state.results.length) {
      var row = document.createElement("tr");
      var empty = cell(state.query ? "No tileset matches “" + state.query + "”." : "No tilesets yet.", "empty");
      empty.colSpan = 5;
      row.appendChild(empty);
      body.appendChild(row);
    }
    state.results.forEach(function (tileset) {
      var row = document.createElement("tr");
      row.setAttribute("data-uuid", tileset.uuid);
      var trackType = HGSViewConf.trackTypeOf(tileset, { pileup: pileupAvailable() });
      var box = document.createElement("input");
      box.type = "checkbox";
      box.value = tileset.uuid;
      box.checked = state.selected.has(tileset.uuid);
      box.disabled = !trackType;
      box.setAttribute("aria-label", "Select " + (tileset.name || tileset.uuid));
      box.title = trackType ? "Shown as a " + trackType + " track" : "The client has no track for this datatype";
      box.addEventListener("change", function () {
        if (box.checked) state.selected.set(tileset.uuid, tileset);
        else state.selected.delete(tileset.uuid);
        row.classList.toggle("selected", box.checked);
        renderSelection();
      });
      var first = document.createElement("td");
      first.className = "pick";
      first.appendChild(box);
      row.appendChild(first);
      var name = cell(tileset.name || tileset.uuid, "name");
      name.title = "uuid: " + tileset.uuid + (tileset.description ? "\n" + tileset.description : "");
      if (tileset.private) {
        var badge = document.createElement("span");
        badge.className = "badge";
        badge.textContent = "private";
        name.appendChild(badge);
      }
      row.appendChild(name);
      row.appendChild(cell(tileset.filetype, "filetype"));
      row.appendChild(cell(tileset.datatype, "datatype"));
      row.appendChild(cell(tileset.coordSystem + (tileset.coordSystem2 ? " × " + tileset.coordSystem2 : ""), "coord"));
      row.classList.toggle("selected", box.checked);
      row.classList.toggle("disabled", !trackType);
      row.addEventListener("click", function (event) {
        if (event.target !== box && !box.disabled) {
          box.checked = !box.checked;
          box.dispatchEvent(new Event("change"));
        }
      });
      body.appendChild(row);
    });
    var first = state.count ? state.offset + 1 : 0;
    var last = Math.min(state.offset + state.results.length, state.count);
    $("page-info").textContent = first + "–" + last + " of " + state.count;
    $("prev-page").disabled = state.offset <= 0;
    $("next-page").disabled = state.offset + state.limit >= state.count;
    renderSelection();
  }

  function renderSelection() {
    var names = Array.from(state.selected.values()).map(function (t) {
      return t.name || t.uuid;
    });
    $("selection-info").textContent = names.length ? names.length + " selected: " + names.join(", ") : "Nothing selected";
    $("open-selection").disabled = !names.length || !clientAvailable();
    $("clear-selection").disabled = !names.length;
  }

  // --- opening views ---------------------------------------------------------------------------

  function chromsizesFor(tilesets) {
    var own = tilesets.filter(function (t) {
      return HGSViewConf.datatypeOf(t) === "chromsizes";
    })[0];
    if (own) return Promise.resolve(own);
    var assembly = (tilesets.filter(function (t) { return t.coordSystem; })[0] || {}).coordSystem;
    if (!assembly) return Promise.resolve(null);
    return request(api + "/tilesets/?dt=chromsizes&limit=1000")
      .then(function (data) {
        return (data.results || []).filter(function (t) { return t.coordSystem === assembly; })[0] || null;
      })
      .catch(function () {
        return null;
      });
  }

  function openTilesets(tilesets) {
    if (!tilesets.length) return Promise.resolve();
    setStatus("Opening " + tilesets.length + " tileset(s)…");
    return chromsizesFor(tilesets).then(function (chromsizes) {
      var uids = tilesets.map(function (t) { return t.uuid; });
      if (chromsizes && uids.indexOf(chromsizes.uuid) < 0) uids.push(chromsizes.uuid);
      var query = uids.map(function (uid) { return "d=" + encodeURIComponent(uid); }).join("&");
      return request(api + "/tileset_info/?" + query).then(function (infos) {
        var built = HGSViewConf.build(tilesets, {
          server: api,
          chromsizes: chromsizes,
          extent: HGSViewConf.extentFromInfos(infos || {}, chromsizes && chromsizes.uuid),
          plugins: { pileup: pileupAvailable() },
        });
        state.skipped = built.skipped;
        state.infoErrors = uids
          .filter(function (uid) { return infos && infos[uid] && infos[uid].error; })
          .map(function (uid) { return uid + ": " + infos[uid].error; });
        return show(built.viewconf, built.tracks, null);
      });
    }).catch(function (error) {
      setViewState("error");
      setStatus("Cannot open the view: " + error.message, "error");
    });
  }

  function openSaved(uid) {
    setStatus("Loading saved view " + uid + "…");
    return request(api + "/viewconfs/?d=" + encodeURIComponent(uid))
      .then(function (viewconf) {
        state.skipped = [];
        state.infoErrors = [];
        return show(viewconf, tracksOf(viewconf), uid);
      })
      .catch(function (error) {
        setViewState("error");
        setStatus("Cannot open saved view " + uid + ": " + error.message, "error");
      });
  }

  // Tracks of a stored view config, for hgsViewer.tracks (the same shape as HGSViewConf.build's).
  function tracksOf(viewconf) {
    var found = [];
    (viewconf.views || []).forEach(function (view) {
      Object.keys(view.tracks || {}).forEach(function (position) {
        (view.tracks[position] || []).forEach(function visit(track) {
          if (track.type === "combined") (track.contents || []).forEach(visit);
          else if (track.tilesetUid) {
            found.push({ uid: track.uid, view: view.uid, type: track.type, position: position,
                         tileset: { uuid: track.tilesetUid } });
          }
        });
      });
    });
    return found;
  }

  var DRAW_TIMEOUT_MS = 60000; // a track whose tileset cannot be read never finishes loading

  function whenDrawn(hgApi) {
    var hgc = hgApi.getComponent();
    return new Promise(function (resolve) {
      var timer = setTimeout(function () {
        state.infoErrors.push("some tracks did not finish loading");
        resolve();
      }, DRAW_TIMEOUT_MS);
      hglib.waitForJsonComplete(function () {
        hglib.waitForTilesLoaded(hgc, function () {
          hglib.waitForTransitionsFinished(hgc, function () {
            // tiles are in; give PIXI two frames to draw them
            requestAnimationFrame(function () {
              requestAnimationFrame(function () {
                clearTimeout(timer);
                resolve();
              });
            });
          });
        });
      });
    });
  }

  function show(viewconf, tracks, savedUid) {
    if (!clientAvailable()) {
      setViewState("error");
      setStatus("The HiGlass client is not installed on this server (run `npm ci`, or `make run`).", "error");
      return Promise.resolve();
    }
    setViewState("loading");
    var holder = $("higlass");
    if (state.hgApi) {
      try {
        state.hgApi.destroy();
      } catch (error) {
        /* an already broken viewer */
      }
      state.hgApi = null;
    }
    holder.textContent = "";
    var element = document.createElement("div");
    element.className = "higlass-root";
    holder.appendChild(element);
    $("placeholder").hidden = true;
    state.viewconf = viewconf;
    state.tracks = tracks;
    var options = { bounded: true, editable: true };
    if (config.authToken) options.authToken = config.authToken;
    var ready = hglib.viewer(element, viewconf, options).then(function (hgApi) {
      state.hgApi = hgApi;
      hgsViewer.hgApi = hgApi;
      $("save-view").disabled = false;
      return whenDrawn(hgApi);
    }).then(function () {
      setViewState("ready");
      var notes = [];
      if (state.skipped.length) {
        notes.push("Not shown: " + state.skipped.map(function (s) {
          return (s.tileset.name || s.tileset.uuid) + " (" + s.reason + ")";
        }).join("; "));
      }
      if (state.infoErrors.length) notes.push("Errors: " + state.infoErrors.join("; "));
      setStatus((savedUid ? "Saved view " + savedUid : "View") + " loaded." + (notes.length ? " " + notes.join(" ") : ""),
                state.infoErrors.length ? "error" : "");
    }).catch(function (error) {
      setViewState("error");
      setStatus("The HiGlass client failed: " + error.message, "error");
    });
    hgsViewer.ready = ready;
    return ready;
  }

  function linkFor(uid) {
    var url = new URL(viewerUrl.href);
    url.search = "?config=" + encodeURIComponent(uid);
    return url.href;
  }

  function saveView() {
    if (!state.hgApi) return Promise.resolve();
    var viewconf = JSON.parse(state.hgApi.exportAsViewConfString());
    $("save-view").disabled = true;
    setStatus("Saving…");
    var body = JSON.stringify({ viewconf: viewconf, higlassVersion: (window.hglib && hglib.version) || "" });
    return request(api + "/viewconfs/", { method: "POST", body: body })
      .then(function (answer) {
        var link = $("saved-link");
        link.href = linkFor(answer.uid);
        link.textContent = link.href;
        link.hidden = false;
        link.setAttribute("data-uid", answer.uid);
        if (sameOrigin(link.href)) window.history.replaceState(null, "", link.href);
        setStatus("Saved. Anyone with the link can open this view:", "ok");
        return answer.uid;
      })
      .catch(function (error) {
        setStatus("Cannot save the view: " + error.message, "error");
      })
      .then(function (uid) {
        $("save-view").disabled = false;
        return uid;
      });
  }

  hgsViewer.settle = function () {
    // Resolves when the current view has fetched and drawn its tiles (e.g. after a zoom).
    if (!state.hgApi) return Promise.resolve();
    setViewState("loading");
    var settled = whenDrawn(state.hgApi).then(function () {
      setViewState("ready");
    });
    hgsViewer.ready = settled;
    return settled;
  };
  hgsViewer.openTilesets = openTilesets;
  hgsViewer.openSaved = openSaved;
  hgsViewer.saveView = saveView;
  hgsViewer.reloadList = loadPage;
  hgsViewer.trackBox = function (trackUid, viewUid) {
    // The track's rectangle in page (CSS pixel) coordinates, for tests and scripts.
    if (!state.hgApi) return null;
    var view = viewUid || (state.viewconf.views[0] && state.viewconf.views[0].uid);
    var track = state.hgApi.getTrackObject(view, trackUid);
    if (!track || !track.position || !track.dimensions) return null;
    var canvas = $("higlass").querySelector("canvas");
    var origin = canvas.getBoundingClientRect();
    return {
      x: origin.left + window.scrollX + track.position[0],
      y: origin.top + window.scrollY + track.position[1],
      width: track.dimensions[0],
      height: track.dimensions[1],
    };
  };

  // --- wiring ----------------------------------------------------------------------------------

  var searchTimer = null;
  $("search").addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      state.query = $("search").value.trim();
      state.offset = 0;
      loadPage();
    }, 250);
  });
  $("search-form").addEventListener("submit", function (event) {
    event.preventDefault();
    clearTimeout(searchTimer);
    state.query = $("search").value.trim();
    state.offset = 0;
    loadPage();
  });
  $("prev-page").addEventListener("click", function () {
    state.offset = Math.max(0, state.offset - state.limit);
    loadPage();
  });
  $("next-page").addEventListener("click", function () {
    state.offset += state.limit;
    loadPage();
  });
  $("open-selection").addEventListener("click", function () {
    openTilesets(Array.from(state.selected.values()));
  });
  $("clear-selection").addEventListener("click", function () {
    state.selected.clear();
    renderTable();
  });
  $("save-view").addEventListener("click", saveView);

  if (!clientAvailable()) {
    setStatus("The HiGlass client is not installed on this server (run `npm ci`, or `make run`).", "error");
  }
  var params = new URLSearchParams(window.location.search);
  var listed = loadPage();
  if (params.get("config")) {
    openSaved(params.get("config"));
  } else if (params.getAll("d").length) {
    var uids = params.getAll("d");
    Promise.all(uids.map(function (uid) {
      return request(api + "/tilesets/" + encodeURIComponent(uid) + "/").catch(function (error) {
        setStatus(uid + ": " + error.message, "error");
        return null;
      });
    })).then(function (found) {
      var tilesets = found.filter(Boolean);
      tilesets.forEach(function (t) { state.selected.set(t.uuid, t); });
      return listed.then(function () {
        renderTable();
        return openTilesets(tilesets);
      });
    });
  }
})();
