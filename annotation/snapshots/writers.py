"""Deterministic file writers for snapshots: parquet+jsonl in row groups, JSON arrays, zip archives, hashes."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


class TableWriter:
    """Writes the same rows to `<name>.parquet` (row groups of `row_group_size`) and `<name>.jsonl`."""

    def __init__(self, folder: Path, name: str, schema: pa.Schema, row_group_size: int):
        self.schema = schema
        self.row_group_size = row_group_size
        self.rows = 0
        self._buffer: dict[str, list] = {f.name: [] for f in schema}
        self._buffered = 0
        # No pandas metadata, fixed options: the same rows give the same bytes.
        self._parquet = pq.ParquetWriter(folder / f"{name}.parquet", schema, compression="zstd",
                                         use_dictionary=True, write_statistics=True)
        self._jsonl = open(folder / f"{name}.jsonl", "w", encoding="utf-8", newline="\n")

    def write(self, row: dict) -> None:
        for key, values in self._buffer.items():
            values.append(row.get(key))
        self._jsonl.write(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n")
        self._buffered += 1
        self.rows += 1
        if self._buffered >= self.row_group_size:
            self._flush()

    def _flush(self) -> None:
        if self._buffered:
            self._parquet.write_table(pa.Table.from_pydict(self._buffer, schema=self.schema))
            for values in self._buffer.values():
                values.clear()
            self._buffered = 0

    def close(self) -> None:
        self._flush()
        self._parquet.close()
        self._jsonl.close()


class JsonArrayWriter:
    """A JSON list written one element at a time (the LiFT-HRA conversation file)."""

    def __init__(self, path: Path):
        self._file = open(path, "w", encoding="utf-8", newline="\n")
        self._file.write("[")
        self.count = 0

    def write(self, item) -> None:
        self._file.write(("\n " if self.count == 0 else ",\n ") + json.dumps(item, ensure_ascii=False))
        self.count += 1

    def close(self) -> None:
        self._file.write("\n]\n")
        self._file.close()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def files_under(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def zip_folder(folder: Path, archive: Path) -> None:
    """Zip with sorted names, fixed times and permissions: the same folder gives the same bytes."""
    tmp = archive.with_suffix(archive.suffix + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name in files_under(folder):
            info = zipfile.ZipInfo(name, date_time=FIXED_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3
            with open(folder / name, "rb") as src, zf.open(info, "w", force_zip64=True) as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    dst.write(block)
    tmp.replace(archive)
