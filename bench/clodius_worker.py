"""The reference side of the benchmark: clodius 0.20.4, called in-process as higlass-server calls it.

Runs in ``.venv-bench`` (clodius and its pins; never the project's ``.venv``). It is started by
``bench/run.py`` and answers one JSON command per line on stdin with one JSON line on stdout, so
the two sides run alternately, tile by tile, under the same machine load:

    {"op": "hello"}                                 -> versions
    {"op": "info", "kind": "cooler"}                -> tileset_info, timed
    {"op": "tiles", "kind": K, "ids": [...], "full": bool}
                                                    -> seconds, a summary per tile (and the tiles)
    {"op": "quit"}

The calls are those of higlass-server (tilesets/generate_tiles.py, master):

* cooler: ``clodius.tiles.cooler.generate_tiles(path, ids)`` with ids normalised to
  ``uid.z.x.y.default`` first (as the server's view does), answers mapped back to the ids;
* bigwig: ``clodius.tiles.bigwig.tiles(path, ids, chromsizes=<the coordSystem's chromsizes>)``;
* multivec: ``clodius.tiles.multivec.tiles(path, ids)`` (the clodius function; the server wraps
  ``get_single_tile`` in its own, slower, encoding loop with the same JSON);
* beddb: ``clodius.tiles.beddb.tiles(path, ids)``;
* bigbed: ``clodius.tiles.bigbed.tiles(path, ids, chromsizes=<the coordSystem's chromsizes>)``;
* bam: ``clodius.tiles.bam.tiles(path, ids, index_filename=..., max_tile_width=...)`` (with the
  numpy-2 patch of tests/generators/test_bam.py).

The file handles clodius keeps between calls (cooler's ``mats`` cache) are kept, as in a
long-running server process.
"""

import json
import sys
import time
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")


def main():
    data = Path(sys.argv[1])
    manifest = json.loads((data / "manifest.json").read_text())
    files = {kind: str(data / name) for kind, name in manifest["files"].items()}
    chromsizes = [line.split("\t") for line in Path(files["chromsizes"]).read_text().splitlines() if line]
    chromsizes = [[name, int(size)] for name, size in chromsizes]

    # stdout carries the protocol: anything clodius prints goes to stderr instead.
    protocol = sys.stdout
    sys.stdout = sys.stderr

    import clodius
    import clodius.tiles.bam as hgbam
    import clodius.tiles.beddb as hgbe
    import clodius.tiles.bigbed as hgbb
    import clodius.tiles.bigwig as hgbi
    import clodius.tiles.cooler as hgco
    import clodius.tiles.multivec as hgmv
    import numpy
    import pandas

    from bench.common import summarize

    def cooler_tiles(ids):
        normalised = {}
        for tile_id in ids:
            parts = tile_id.split(".")
            normalised[".".join(parts[:4] + [parts[4] if len(parts) > 4 else "default"])] = tile_id
        return [(normalised[i], t) for i, t in hgco.generate_tiles(files["cooler"], list(normalised)) if i in normalised]

    # numpy >= 2: clodius' BAM code shifts a float (no float >> int); as in tests/generators/test_bam.py
    original_abs2genomic = hgbam.abs2genomic
    hgbam.abs2genomic = lambda sizes, start, end: original_abs2genomic(sizes, int(start), int(end))
    max_bam_tile_width = 100_000  # the server's MAX_BAM_TILE_WIDTH (clodius 0.20.4 ignores it)

    producers = {
        "cooler": cooler_tiles,
        "bigwig": lambda ids: hgbi.tiles(files["bigwig"], ids, chromsizes=chromsizes),
        "multivec": lambda ids: hgmv.tiles(files["multivec"], ids),
        "beddb": lambda ids: hgbe.tiles(files["beddb"], ids),
        "bigbed": lambda ids: hgbb.tiles(files["bigbed"], ids, chromsizes=chromsizes),
        "bam": lambda ids: hgbam.tiles(files["bam"], ids, index_filename=files["bam_index"],
                                       max_tile_width=max_bam_tile_width),
    }
    infos = {
        "cooler": lambda: hgco.tileset_info(files["cooler"]),
        "bigwig": lambda: hgbi.tileset_info(files["bigwig"], chromsizes=chromsizes),
        "multivec": lambda: hgmv.tileset_info(files["multivec"]),
        "beddb": lambda: hgbe.tileset_info(files["beddb"]),
        # higlass-server calls the bigWig tileset_info for bigBed
        "bigbed": lambda: hgbi.tileset_info(files["bigbed"], chromsizes=chromsizes),
        "bam": lambda: hgbam.tileset_info(files["bam"]),
    }

    def reply(obj):
        protocol.write(json.dumps(obj, default=_plain) + "\n")
        protocol.flush()

    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "quit":
            break
        try:
            if op == "hello":
                reply({"clodius": clodius.__version__ if hasattr(clodius, "__version__") else _version("clodius"),
                       "numpy": numpy.__version__, "pandas": pandas.__version__,
                       "cooler": _version("cooler"), "pybbi": _version("pybbi"), "h5py": _version("h5py"),
                       "python": sys.version.split()[0]})
            elif op == "info":
                started = time.perf_counter()
                info = infos[command["kind"]]()
                reply({"seconds": time.perf_counter() - started, "info": info})
            elif op == "tiles":
                ids = command["ids"]
                started = time.perf_counter()
                produced = producers[command["kind"]](ids)
                seconds = time.perf_counter() - started
                tiles = dict(produced)
                # what the reference server adds at least: JsonResponse's json.dumps of the answer
                started = time.perf_counter()
                json.dumps(tiles, default=_plain)
                json_seconds = time.perf_counter() - started
                answer = {"seconds": seconds, "json_seconds": json_seconds,
                          "summaries": {i: summarize(tiles[i], command["kind"]) for i in ids if i in tiles}}
                if command.get("full"):
                    answer["tiles"] = {i: tiles[i] for i in ids if i in tiles}
                reply(answer)
            else:
                reply({"error": f"unknown op {op}"})
        except Exception as exc:  # report, keep serving
            import traceback

            traceback.print_exc()
            reply({"error": f"{type(exc).__name__}: {exc}"})


def _version(name):
    from importlib.metadata import version

    try:
        return version(name)
    except Exception:
        return "?"


def _plain(value):
    import numpy as np

    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(type(value).__name__)


if __name__ == "__main__":
    main()
