"""The open-file cache (tilesets/formats/openfiles.py) and the error of the formats floor."""

import os

import pytest

from tilesets.formats.errors import FormatError, one_line
from tilesets.formats.openfiles import OpenFiles
from tilesets.generators import GeneratorError


class Handle:
    def __init__(self, path):
        with open(path, "rb") as data:
            self.content = data.read()
        self.closed = False

    def close(self):
        self.closed = True


def test_a_file_is_opened_once_per_version(tmp_path):
    path = tmp_path / "a.bin"
    path.write_bytes(b"one")
    files = OpenFiles(Handle, closer=Handle.close)
    first = files.get(str(path))
    assert files.get(str(path)) is first and first.content == b"one"
    path.write_bytes(b"two!")  # changed in place: the old version's handle is closed
    second = files.get(str(path))
    assert second is not first and second.content == b"two!" and first.closed and not second.closed


def test_evicted_handles_are_dropped_not_closed(tmp_path):
    files = OpenFiles(Handle, maxsize=2, closer=Handle.close)
    handles = []
    for name in "abc":
        (tmp_path / name).write_bytes(name.encode())
        handles.append(files.get(str(tmp_path / name)))
    assert not any(handle.closed for handle in handles)
    assert files.get(str(tmp_path / "a")) is not handles[0]  # evicted, opened again
    assert files.get(str(tmp_path / "c")) is handles[2]


def test_errors_of_a_missing_or_unreadable_file(tmp_path):
    missing = str(tmp_path / "missing.bin")
    with pytest.raises(FileNotFoundError):
        OpenFiles(Handle).get(missing)
    with pytest.raises(GeneratorError, match="^the file does not exist$"):
        OpenFiles(Handle, what="the file", missing="the file does not exist").get(missing)
    with pytest.raises(FormatError, match="^cannot read the index: No such file or directory$"):
        OpenFiles(Handle, what="the index").get(missing)
    (tmp_path / "plain").write_text("")
    with pytest.raises(GeneratorError, match="^cannot read the file: Not a directory$"):
        OpenFiles(Handle, what="the file").get(str(tmp_path / "plain" / "x"))


def test_format_error_is_the_generators_error_and_a_service_error():
    error = FormatError("truncated index", "truncated")
    assert GeneratorError is FormatError and error.reason == "truncated"
    assert error.status == 400 and error.code == "InvalidInput" and str(error) == "truncated index"


def test_one_line_drops_the_folder_and_the_line_breaks(tmp_path):
    path = os.path.join(str(tmp_path), "data.h5")
    assert one_line(ValueError(f"bad  content in {path}\nsecond line"), path) == "bad content in data.h5 second line"
