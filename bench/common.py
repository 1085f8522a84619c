"""What both sides of the benchmark share: the tile positions and the tile summaries.

Only numpy and the standard library here: this module is imported in the project's ``.venv``
(our server) and in ``.venv-bench`` (clodius).
"""

import base64
import hashlib
import json
import math

import numpy as np

POSITION_SEED = 4242
TILE_SIZE_COOLER = 256
TILE_SIZE_BIGWIG = 1024


def cooler_zoom_count(manifest):
    return len(manifest["details"]["cooler"]["resolutions"])


def cooler_resolution(manifest, zoom):
    return sorted(manifest["details"]["cooler"]["resolutions"], reverse=True)[zoom]


def bigwig_max_zoom(manifest):
    return int(math.ceil(np.log2(math.ceil(manifest["genome_length"] / TILE_SIZE_BIGWIG))))


def multivec_resolution(manifest, zoom):
    return sorted(manifest["details"]["multivec"]["resolutions"], reverse=True)[zoom]


def _tiles_across(length, width):
    return max(1, math.ceil(length / width))


def plan(manifest, repeats=30, blocks=12):
    """The measured rows, each with its tile positions, identical for both sides.

    A row is ``{"key", "kind", "label", "zoom", "requests": [[tile suffix, ...], ...]}``: each
    request is timed on its own (one tile, or the 9 tiles of a heatmap view). Suffixes are tile ids
    without the uid (``"9.120.121"``). Positions are drawn with a fixed seed, without repetition
    where the zoom level has enough tiles.
    """
    rng = np.random.default_rng(POSITION_SEED)
    genome = manifest["genome_length"]
    rows = []

    def pick(candidates, n):
        candidates = list(candidates)
        if len(candidates) >= n:
            chosen = rng.choice(len(candidates), n, replace=False)
        else:
            chosen = rng.choice(len(candidates), n, replace=True)
        return [candidates[i] for i in chosen]

    # cooler -----------------------------------------------------------------------------
    nz = cooler_zoom_count(manifest)
    coarse, fine = 3, nz - 1

    def cooler_across(z):
        return _tiles_across(genome, TILE_SIZE_COOLER * cooler_resolution(manifest, z))

    n = cooler_across(0)
    rows.append({"key": "cooler-z0", "kind": "cooler", "zoom": 0,
                 "label": f"cooler z0 ({cooler_resolution(manifest, 0) // 1000} kb, whole genome)",
                 "requests": [[f"0.{x}.{y}"] for x, y in pick([(0, 0)], repeats // 2)]})
    n = cooler_across(coarse)
    upper = [(x, y) for x in range(n) for y in range(x, n)]
    rows.append({"key": "cooler-coarse", "kind": "cooler", "zoom": coarse,
                 "label": f"cooler z{coarse} ({cooler_resolution(manifest, coarse) // 1000} kb), x<=y",
                 "requests": [[f"{coarse}.{x}.{y}"] for x, y in pick(upper, repeats)]})
    n = cooler_across(fine)
    xs = rng.integers(0, n - 1, repeats)
    near = [(int(x), int(x) + int(d)) for x, d in zip(xs, rng.integers(0, 2, repeats))]
    rows.append({"key": "cooler-fine", "kind": "cooler", "zoom": fine,
                 "label": f"cooler z{fine} ({cooler_resolution(manifest, fine) // 1000} kb), near diagonal",
                 "requests": [[f"{fine}.{x}.{y}"] for x, y in near]})
    far = []
    while len(far) < repeats:
        x, y = sorted(int(v) for v in rng.integers(0, n, 2))
        if y - x > 2:
            far.append((x, y))
    rows.append({"key": "cooler-fine-far", "kind": "cooler", "zoom": fine,
                 "label": f"cooler z{fine} ({cooler_resolution(manifest, fine) // 1000} kb), off diagonal",
                 "requests": [[f"{fine}.{x}.{y}"] for x, y in far]})
    # 3x3 neighbouring tiles next to the diagonal, all with x <= y (the client asks only for
    # those and mirrors them): columns x0..x0+2, rows x0+2..x0+4, one of them on the diagonal.
    views = []
    for x0 in rng.integers(0, n - 5, blocks):
        x0 = int(x0)
        views.append([f"{fine}.{x}.{y}" for y in range(x0 + 2, x0 + 5) for x in range(x0, x0 + 3)])
    rows.append({"key": "cooler-9", "kind": "cooler", "zoom": fine,
                 "label": f"cooler 9-tile view z{fine} (3x3)", "requests": views})

    # bigWig -----------------------------------------------------------------------------
    max_zoom = bigwig_max_zoom(manifest)
    for z, name in ((4, "coarse"), (10, "mid"), (max_zoom, "fine")):
        n = _tiles_across(genome, TILE_SIZE_BIGWIG * 2 ** (max_zoom - z))
        xs = pick(range(n), repeats)
        rows.append({"key": f"bigwig-{name}", "kind": "bigwig", "zoom": z,
                     "label": f"bigWig z{z} ({2 ** (max_zoom - z)} bp/bin)",
                     "requests": [[f"{z}.{x}"] for x in xs]})

    # multivec ---------------------------------------------------------------------------
    mv = manifest["details"]["multivec"]
    nmz = len(mv["resolutions"])
    for z, name in ((2, "coarse"), (5, "mid"), (nmz - 1, "fine")):
        r = multivec_resolution(manifest, z)
        n = _tiles_across(genome, mv["tile_size"] * r)
        xs = pick(range(n), repeats)
        rows.append({"key": f"multivec-{name}", "kind": "multivec", "zoom": z,
                     "label": f"multivec z{z} ({r // 1000} kb)",
                     "requests": [[f"{z}.{x}"] for x in xs]})
    # beddb, bigBed, BAM ----------------------------------------------------------------------
    # tiles where data exists: around the sampled positions of the data (bench/data.py)
    max_zoom = annotation_max_zoom(manifest)
    zooms = {"beddb": (3, 10, max_zoom), "bigbed": (4, 10, max_zoom),
             # BAM: only tiles the client asks for (<= MAX_BAM_TILE_WIDTH wide)
             "bam": (bam_min_zoom(manifest), bam_min_zoom(manifest) + 3, max_zoom)}
    names = {"beddb": "beddb", "bigbed": "bigBed", "bam": "BAM"}
    for kind in ("beddb", "bigbed", "bam"):
        details = manifest["details"].get(kind)
        if not details:
            continue
        for z, name in zip(zooms[kind], ("coarse", "mid", "fine")):
            width = TILE_SIZE_BIGWIG * 2 ** (max_zoom - z)
            xs = pick(sorted({p // width for p in details["positions"]}), repeats)
            rows.append({"key": f"{kind}-{name}", "kind": kind, "zoom": z,
                         "label": f"{names[kind]} z{z} ({_width_label(width)} tiles)",
                         "requests": [[f"{z}.{x}"] for x in xs]})
    return rows


MAX_BAM_TILE_WIDTH = 100_000  # the server's default (settings.MAX_BAM_TILE_WIDTH)


def annotation_max_zoom(manifest):
    """max_zoom of the beddb/bigBed/BAM tilesets: 1024 * 2**z >= genome length + 1."""
    return int(math.ceil(math.log2((manifest["genome_length"] + 1) / TILE_SIZE_BIGWIG)))


def bam_min_zoom(manifest):
    z = annotation_max_zoom(manifest)
    while TILE_SIZE_BIGWIG * 2 ** (annotation_max_zoom(manifest) - z + 1) <= MAX_BAM_TILE_WIDTH:
        z -= 1
    return z


def _width_label(width):
    return f"{width // 1_000_000} Mb" if width >= 10_000_000 else f"{width // 1024} kb" if width >= 1024 * 8 \
        else f"{width} bp"


def summarize(tile, kind=None):
    """The fields of a tile that the equality check compares (dense as a digest).

    Annotation and reads tiles (lists, or BAM's dict of columns) are compared as their JSON, byte
    for byte, as the optional clodius tests do; bigBed entries without ``uid`` (clodius gives
    none: tests/generators/test_bigbed.py compares chrOffset, importance, fields)."""
    if kind in ("beddb", "bigbed", "bam"):
        if kind == "bigbed" and isinstance(tile, list):
            tile = [{k: e[k] for k in ("chrOffset", "importance", "fields") if k in e} for e in tile]
        text = json.dumps(tile, default=_plain)
        if isinstance(tile, list):
            n = len(tile)
        elif isinstance(tile, dict):
            n = len(tile["id"]) if isinstance(tile.get("id"), list) else sorted(tile)
        else:
            n = None
        return {"type": type(tile).__name__, "n": n, "json_sha": hashlib.sha256(text.encode()).hexdigest()[:20]}
    if not isinstance(tile, dict):
        return {"type": type(tile).__name__}
    out = {"keys": list(tile.keys())}
    for key, value in tile.items():
        if key == "dense":
            raw = base64.b64decode(value)
            out["dense_sha"] = hashlib.sha256(raw).hexdigest()[:20]
            out["dense_len"] = len(raw)
        else:
            out[key] = json.loads(json.dumps(value, default=_plain))
    return out


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(type(value).__name__)


def compare(ours, theirs):
    """'' when the summaries agree, else a short text naming the differing fields."""
    if ours is None:
        return "missing in ours"
    if theirs is None:
        return "missing in clodius"
    diffs = []
    for key in sorted(set(ours) | set(theirs)):
        if key == "keys":
            if set(ours.get("keys", [])) != set(theirs.get("keys", [])):
                diffs.append(f"keys {ours.get('keys')} vs {theirs.get('keys')}")
            continue
        if ours.get(key) != theirs.get(key):
            diffs.append(f"{key}: {ours.get(key)!r} vs {theirs.get(key)!r}")
    return "; ".join(diffs)


def decode_dense(tile):
    """The values of a dense tile as a float32 numpy array."""
    raw = base64.b64decode(tile["dense"])
    dtype = "<f2" if tile.get("dtype") == "float16" else "<f4"
    return np.frombuffer(raw, dtype=dtype).astype(np.float32)
