"""One small file of every filetype in one folder, and what comparing their local and remote
answers needs: the remote configuration for loopback servers, a spread of tile ids for a
tileset_info, and a generator's answers as JSON text.

``write_every_filetype(folder)`` writes the files and returns the cases: ``{name: (filetype,
data file name, index file name or None)}``. Index files lie beside their data files under the
names libraries look for (``.bai``, ``.fai``, ``.gzi``, ``.tbi``), so the same folder also tests
index discovery.
"""

import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pysam

from tests.builders import annotation_data as ad
from tests.builders import bigbed_data, bigwig_data, cooler_data, hitile_data, hts_data, reads_data
from tests.builders import multivec_data as md
from tests.builders.helpers import tile_request, write_chromsizes
from tilesets.formats import access
from tilesets.formats.remote_config import RemoteConfig
from tilesets.generators import Source, get

MULTIVEC_SIZES = [("chr1", 12345), ("chr2", 9871), ("chr3", 7), ("chr4", 15002), ("chrM", 333)]
ANNOTATION_SIZES = [("chr1", 100_000), ("chr2", 50_000), ("chr3", 20_000)]


@contextmanager
def remote_access(folder, **fields):
    """Remote locations reached with a configuration for loopback servers (private hosts allowed,
    small blocks, short timeouts, caches under ``folder``) plus ``fields``; the previous
    configuration is back afterwards."""
    previous = access.configuration()
    settings = dict(
        allow_private_hosts=True, connect_timeout=2, read_timeout=3, request_deadline=10, retries=1,
        retry_backoff=0.05, block_size=16 * 1024, max_request_bytes=1024 * 1024,
        disk_cache_dir=os.path.join(folder, "disk-cache"), udc_cache_dir=os.path.join(folder, "udc"),
    )
    settings.update(fields)
    access.configure(RemoteConfig(**settings), revalidate_seconds=60)
    try:
        yield access.remote_config()
    finally:
        access.configure(*previous)


def write_every_filetype(folder, workdir):
    """The test files of every filetype in ``folder`` (``workdir`` for intermediate files)."""
    folder, workdir = Path(folder), Path(workdir)
    cases = {}

    def path(name):
        return folder / name

    mcool = cooler_data.make_mcool(path("contacts.mcool"), workdir)
    cooler_data.make_base(path("contacts.cool"))
    cooler_data.make_legacy(path("legacy.cool"), mcool)
    cases.update({"mcool": ("cooler", "contacts.mcool", None), "cool": ("cooler", "contacts.cool", None),
                  "legacy-cool": ("cooler", "legacy.cool", None)})

    bigwig_data.write_test_bigwig(path("signal.bw"), zooms=3)
    bigbed_data.write_bigbed(path("annotations.bb"), bigbed_data.IN_FILE, bigbed_data.records_of())
    cases.update({"bigwig": ("bigwig", "signal.bw", None), "bigbed": ("bigbed", "annotations.bb", None)})

    rng = np.random.default_rng(7)
    base = {name: rng.uniform(-5, 10, size=(-(-length // 10), 7)).astype(np.float32)
            for name, length in MULTIVEC_SIZES}
    md.write_multivec(path("rows.mv5"), MULTIVEC_SIZES, md.build_levels(base, MULTIVEC_SIZES, 10, 256), 256)
    hitile_data.write_hitile(path("signal.hitile"), hitile_data.signal_of(100_000), zoom_step=2)
    cases.update({"multivec": ("multivec", "rows.mv5", None), "hitile": ("hitile", "signal.hitile", None)})

    genome = reads_data.random_genome()
    reads_data.write_bam(path("reads.bam"), reads_data.simulate_reads(genome))
    reads_data.write_fasta(path("genome.fa"), genome)
    pysam.faidx(str(path("genome.fa")))
    pysam.tabix_compress(str(path("genome.fa")), str(path("genome.fa.gz")), force=True)
    pysam.faidx(str(path("genome.fa.gz")))  # writes genome.fa.gz.fai and genome.fa.gz.gzi
    cases.update({"bam": ("bam", "reads.bam", "reads.bam.bai"), "bam-beside": ("bam", "reads.bam", None),
                  "fasta": ("fasta", "genome.fa", "genome.fa.fai"), "fasta-beside": ("fasta", "genome.fa", None),
                  "fasta-bgzip": ("fasta", "genome.fa.gz", "genome.fa.gz.fai")})

    ad.write_beddb(path("genes.beddb"), ANNOTATION_SIZES, ad.random_genes(ANNOTATION_SIZES, 400))
    ad.write_bed2ddb(path("pairs.bed2ddb"), ANNOTATION_SIZES, ad.random_rectangles(ANNOTATION_SIZES, 300))
    hts_data.write_vcf(path("variants.vcf.gz"))
    write_chromsizes(path("sizes.tsv"))
    cases.update({"beddb": ("beddb", "genes.beddb", None), "bed2ddb": ("bed2ddb", "pairs.bed2ddb", None),
                  "vcf": ("vcf", "variants.vcf.gz", "variants.vcf.gz.tbi"),
                  "chromsizes": ("chromsizes-tsv", "sizes.tsv", None)})
    return cases


def copy_files(source, target, *names):
    """Copy the named files of folder ``source`` into ``target`` (created); returns ``target``."""
    os.makedirs(target, exist_ok=True)
    for name in names:
        shutil.copy(os.path.join(source, name), os.path.join(target, name))
    return target


def _spread(count, most=6):
    """Positions 0 … count-1, all of them for small counts, else both ends and the middle."""
    if count <= most:
        return list(range(count))
    middle = count // 2
    return sorted({0, 1, middle - 1, middle, count - 2, count - 1})


def tile_ids(filetype, info, most=6):
    """Tile ids (uid ``u``) covering every zoom level of a tileset_info: each level's tiles when
    there are few, else a spread, plus one position past the end of the grid."""
    generator = get(filetype)
    ids = []
    if "resolutions" in info:  # cooler .mcool/.cool, multivec: one level per resolution
        tile = info.get("tile_size", 256)
        levels = [-(-info["max_pos"][0] // (tile * resolution))
                  for resolution in sorted(info["resolutions"], reverse=True)]
    else:
        levels = [2 ** zoom for zoom in range(info["max_zoom"] + 1)]
    for zoom, count in enumerate(levels):
        xs = _spread(count, most) + [count]
        if generator.dimensions == 2:
            ids += [f"u.{zoom}.{x}.{y}" for x in xs for y in xs if y >= x]
        else:
            ids += [f"u.{zoom}.{x}" for x in xs]
    return ids


EXTRA_TILES = {  # transforms and modes, at the coarsest and the finest zoom
    "cooler": (".KR", ".weight", ".none"),
    "bigwig": (".max", ".minMax", ".whisker", ".std"),
    "bigbed": (".significant",),
}


def answers(filetype, datafile, indexfile=None, ids=None, context=None):
    """``(tileset_info, tiles, chromsizes)`` of a file as JSON texts (None where the filetype has
    no such call); ``ids`` default to :func:`tile_ids` of its tileset_info plus the extras."""
    generator = get(filetype)
    source = Source(datafile, indexfile, context=dict(context or {}))
    info = generator.tileset_info(source) if generator.tileset_info else None
    tiles = None
    if generator.tiles is not None:
        if ids is None:
            ids = tile_ids(filetype, info)
            ids += [ids[0] + extra for extra in EXTRA_TILES.get(filetype, ())]
            ids += [ids[-2] + extra for extra in EXTRA_TILES.get(filetype, ())]
        requests = [tile_request(i, generator.dimensions) for i in ids]
        tiles = generator.tiles(source, requests, None)
    sizes = generator.chromsizes(source) if generator.chromsizes else None
    return tuple(None if part is None else json.dumps(part, sort_keys=True) for part in (info, tiles, sizes))
