"""Opening an HDF5 tileset file (hitile, multivec) with one-line GeneratorErrors."""

import os
from contextlib import contextmanager

import h5py

from .base import GeneratorError


def one_line(exc, path):
    """An exception's text on one line, without the server-side path of the file."""
    return " ".join(str(exc).replace(str(path), os.path.basename(str(path))).split())


@contextmanager
def opened(path, what):
    """``h5py.File(path, "r")`` for a block that reads the file's metadata; the file stays open
    after the block. GeneratorError when the file is not HDF5 or does not open; when the block
    fails the file is closed again, an error other than GeneratorError becoming
    "unreadable <what>: ..."."""
    try:
        if not h5py.is_hdf5(path):
            raise GeneratorError("not an HDF5 file")
        # HDF5's default file locking (HDF5_USE_FILE_LOCKING): the same file opened
        # elsewhere in the process with other locking flags would fail to open.
        h5 = h5py.File(path, "r")
    except GeneratorError:
        raise
    except OSError as exc:
        raise GeneratorError(f"cannot open the HDF5 file: {one_line(exc, path)}") from None
    try:
        yield h5
    except GeneratorError:
        h5.close()
        raise
    except Exception as exc:  # h5py/numpy errors on odd content
        h5.close()
        raise GeneratorError(f"unreadable {what}: {one_line(exc, path)}") from None
