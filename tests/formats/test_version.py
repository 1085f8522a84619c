"""The one file-version key (tilesets/formats/version.py)."""

import os

import pytest

from tilesets.formats.version import FileVersion, file_version


def test_the_version_names_the_real_file_and_its_stat(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"12345")
    version = file_version(str(path))
    stat = os.stat(path)
    assert isinstance(version, FileVersion)
    assert version == (str(path.resolve()), stat.st_dev, stat.st_ino, 5, stat.st_mtime_ns)
    assert version.token == f"{stat.st_dev}.{stat.st_ino}.5.{stat.st_mtime_ns}" and str(tmp_path) not in version.token
    assert file_version(str(path)) == version  # unchanged file, same version


def test_a_symbolic_link_has_the_version_of_its_target(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"abc")
    link = tmp_path / "link.bin"
    link.symlink_to(path)
    assert file_version(str(link)) == file_version(str(path))


def test_a_replaced_or_rewritten_file_gets_a_new_version(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    first = file_version(str(path))
    other = tmp_path / "new.bin"
    other.write_bytes(b"new")
    os.replace(other, path)  # a new inode at the same path
    replaced = file_version(str(path))
    assert replaced.path == first.path and replaced.inode != first.inode and replaced != first
    with open(path, "ab") as handle:  # in place: same inode, new size
        handle.write(b"more")
    grown = file_version(str(path))
    assert grown.inode == replaced.inode and grown.size == 7 and grown != replaced


def test_a_missing_file_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        file_version(str(tmp_path / "missing"))
