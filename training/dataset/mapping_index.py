"""Where each influencer's rows are in JSON-Image_files_mapping.txt, so they are parsed when read.

The public mapping has ten million rows. One pass over the file counts its rows (and the bad ones)
and keeps, per run of consecutive rows of one influencer, the byte range and first line number: a
copy that lists each influencer's rows together costs one run per influencer, whatever its posts.
``rows_of`` reads an influencer's runs back with ``os.pread``. A mapping inside a zip is copied
once to an unnamed temporary file, which goes when the index is closed.

    index = MappingIndex(handle, report)      # handle: the mapping, opened binary
    index.influencers                         # in order of first appearance
    merged = merge_rows(index.rows_of("some_user"))
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from array import array
from collections.abc import Iterator
from typing import BinaryIO

import numpy as np

from training.dataset.mapping import mapping_fields, usable_row
from training.dataset.report import DatasetReport

log = logging.getLogger(__name__)


def _sub_lines(piece: bytes) -> list[str]:
    """The lines of one newline-terminated piece as ``str.splitlines`` of the whole text makes them
    (it also splits on \\r and the other Unicode line ends; an empty piece is one empty line)."""
    return piece.decode("utf-8", errors="replace").splitlines() or [""]


class MappingIndex:
    """Byte ranges of each influencer's rows in one mapping file."""

    def __init__(self, handle: BinaryIO, report: DatasetReport) -> None:
        try:
            self._fd = handle.fileno()
            self._file = handle
        except (AttributeError, OSError):  # a zip member: spill it to a file that can be read at offsets
            spill = tempfile.TemporaryFile()
            shutil.copyfileobj(handle, spill)
            handle.close()
            spill.seek(0)
            self._file, self._fd = spill, spill.fileno()
        self._ids: dict[str, int] = {}
        self.influencers: list[str] = []
        run_of, starts, ends, lines = array("i"), array("q"), array("q"), array("q")
        bad: list[str] = []
        offset, number = 0, 0
        for piece in self._file:
            start, offset = offset, offset + len(piece)
            first = number + 1
            for line in _sub_lines(piece):
                number += 1
                parts = mapping_fields(line)
                if parts is None:
                    continue
                report.mapping_rows += 1
                if not usable_row(parts):
                    report.bad_mapping_rows += 1
                    if len(bad) < 3:
                        bad.append(f"line {number}")
                    continue
                who = self._ids.get(parts[0])
                if who is None:
                    who = self._ids[parts[0]] = len(self.influencers)
                    self.influencers.append(parts[0])
                if len(run_of) and run_of[-1] == who and ends[-1] in (start, offset):
                    ends[-1] = offset
                else:
                    run_of.append(who)
                    starts.append(start)
                    ends.append(offset)
                    lines.append(first)
        report.warn(
            "bad_mapping_rows",
            report.bad_mapping_rows,
            "mapping rows have fewer than two fields and were skipped",
            bad,
        )
        runs = np.frombuffer(run_of, dtype=np.int32)
        order = np.argsort(runs, kind="stable")  # each influencer's runs, in file order
        self._first_run = np.searchsorted(runs[order], np.arange(len(self.influencers) + 1))
        self._starts = np.frombuffer(starts, dtype=np.int64)[order]
        self._ends = np.frombuffer(ends, dtype=np.int64)[order]
        self._lines = np.frombuffer(lines, dtype=np.int64)[order]
        log.debug(
            "mapping: %d rows of %d influencers in %d runs", report.mapping_rows, len(self._ids), len(runs)
        )

    @property
    def runs(self) -> int:
        """How many byte ranges the index keeps: one per influencer when its rows are together."""
        return len(self._starts)

    def __contains__(self, influencer: str) -> bool:
        return influencer in self._ids

    def rows_of(self, influencer: str) -> Iterator[tuple[int, list[str]]]:
        """(line number, fields) of the influencer's usable rows, in file order."""
        who = self._ids.get(influencer)
        if who is None:
            return
        for run in range(int(self._first_run[who]), int(self._first_run[who + 1])):
            start, end = int(self._starts[run]), int(self._ends[run])
            data = os.pread(self._fd, end - start, start)
            pieces = data.split(b"\n")
            if data.endswith(b"\n"):
                pieces.pop()
            number = int(self._lines[run]) - 1
            for piece in pieces:
                for line in _sub_lines(piece):
                    number += 1
                    parts = mapping_fields(line)
                    if parts is not None and usable_row(parts) and parts[0] == influencer:
                        yield number, parts

    def close(self) -> None:
        self._file.close()
