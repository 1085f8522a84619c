"""The demo signal tracks on hg38: a bigWig and a 4-row multivec of the same smooth, noisy wave
(synthetic, seeded)."""

import numpy as np

from .assembly import HG38, SEED


def _signal(length, step, rng):
    """A smooth wave with noise, one value per ``step`` bases."""
    positions = np.arange(0, length, step)
    wave = np.sin(positions / 7.3e6) + 0.5 * np.sin(positions / 1.1e6 + 1.0)
    return (3.0 + wave + rng.normal(0, 0.3, len(positions))).clip(0)


def write_bigwig(path, step=10_000):
    import pyBigWig

    rng = np.random.default_rng(SEED + 1)
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(HG38), maxZooms=10)
    for name, length in HG38:
        values = _signal(length, step, rng)
        handle.addEntries(name, 0, values=values.astype(float).tolist(), span=step, step=step)
    handle.close()


def write_multivec(path, base=50_000, rows=4, tile_size=256):
    """A multivec in the layout docs/filetypes.md describes (multivec, The file): each resolution
    sums pairs of bins of the one below, until the genome fits in one tile."""
    import h5py

    rng = np.random.default_rng(SEED + 2)
    genome = sum(length for _, length in HG38)
    levels = int(np.ceil(np.log2(genome / (tile_size * base)))) + 1
    with h5py.File(path, "w") as handle:
        handle.create_group("info").attrs["tile-size"] = tile_size
        row_infos = [f'{{"name": "demo track {i + 1}"}}' for i in range(rows)]
        handle["info"].create_dataset("row_infos", data="[" + ", ".join(row_infos) + "]")
        names = np.array([name.encode() for name, _ in HG38])
        lengths = np.array([length for _, length in HG38])
        handle.create_dataset("chroms/name", data=names)
        handle.create_dataset("chroms/length", data=lengths)
        for name, length in HG38:
            data = np.stack([_signal(length, base, rng) * (row + 1) for row in range(rows)], axis=1)
            resolution = base
            for _ in range(levels):
                handle.create_dataset(f"resolutions/{resolution}/values/{name}", data=data, compression="gzip")
                if len(data) % 2:
                    data = np.concatenate([data, data[-1:]])
                data = data[0::2] + data[1::2]
                resolution *= 2
        for level in range(levels):
            group = handle[f"resolutions/{base * 2**level}"]
            group.create_dataset("chroms/name", data=names)
            group.create_dataset("chroms/length", data=lengths)
