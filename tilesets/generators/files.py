"""The open-file cache now lives in the formats floor (tilesets.formats.openfiles)."""

from ..formats.openfiles import OpenFiles

__all__ = ["OpenFiles"]
