"""What a raw CSV file must be before dbt reads it (docs/raw-data-contract.md "Strict parsing").

A file that is not UTF-8, whose records end in different kinds of line break, or that opens a quoted field it
never closes, cannot be read as written: the run stops before any model runs (exit 2) with the file, the line
and the cause. The check reads every byte, in blocks, at the speed of `bytes` methods: a block of ASCII text
needs no decoding, and line breaks and quotes are counted, not parsed. Only a file whose counts leave a doubt
(carriage returns in more than one role, an odd number of quotes) has its records followed, quote-aware, in
Python. (DuckDB fails on mixed line breaks, and drops a never-closed quoted field without a word when it reads
several files at once.)

Also here: the header fields of a CSV file as the dbt hook reads them, and file paths as DuckDB globs that match
only themselves.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from .errors import InputError

BLOCK = 1 << 24  # bytes read at a time
CONTRACT = "See docs/raw-data-contract.md."
# UTF-16/32 byte order marks: a file saved as "Unicode" by a spreadsheet.
_OTHER_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}
_QUOTE_OR_BREAK = re.compile(rb'["\r\n]')


def check_csv_file(path: Path) -> None:
    """Raise InputError naming the file, the line and the cause when `path` is not valid UTF-8, ends its records
    (outside quoted fields) with more than one kind of line break, or opens a quoted field it never closes."""
    counts = _check_utf8(path)
    only_lf = counts["cr"] == 0
    only_crlf = counts["cr"] == counts["crlf"] == counts["lf"]
    if not (only_lf or only_crlf) or counts["quotes"] % 2:
        _check_records(path)


def _check_utf8(path: Path) -> dict[str, int]:
    """Raise InputError at the first byte that is not UTF-8; return the counts of CR, LF, CRLF and quotes."""
    pending = b""  # the start of a multi-byte character cut by the block boundary
    offset = 0  # file offset of data[0]
    lines = 1  # line number at data[0]
    counts = {"cr": 0, "lf": 0, "crlf": 0, "quotes": 0}
    previous_last = b""
    with path.open("rb") as file:
        first = True
        while True:
            block = file.read(BLOCK)
            if first:
                _refuse_other_boms(path, block)
                first = False
            data = pending + block
            if not data:
                break
            pending = b""
            if not data.isascii():
                try:
                    data.decode("utf-8")
                except UnicodeDecodeError as error:
                    if error.reason == "unexpected end of data" and block:
                        pending, data = data[error.start :], data[: error.start]
                    else:
                        _raise_not_utf8(path, data, error, offset, lines)
            counts["cr"] += data.count(b"\r")
            counts["lf"] += data.count(b"\n")
            counts["crlf"] += data.count(b"\r\n") + (previous_last == b"\r" and data[:1] == b"\n")
            counts["quotes"] += data.count(b'"')
            previous_last = data[-1:]
            lines += data.count(b"\n")
            offset += len(data)
            if not block:
                break
    return counts


def _refuse_other_boms(path: Path, block: bytes) -> None:
    for bom, encoding in _OTHER_BOMS.items():
        if block.startswith(bom):
            raise InputError(
                f"Raw file {path} is not valid UTF-8: line 1 starts with a {encoding} byte order mark (the file was "
                f'saved as {encoding}, "Unicode" in some spreadsheets). Save it as UTF-8 CSV. {CONTRACT}'
            )


def _raise_not_utf8(path: Path, data: bytes, error: UnicodeDecodeError, offset: int, lines: int) -> None:
    line = lines + data.count(b"\n", 0, error.start)
    bad = data[error.start : error.end]
    if error.reason == "unexpected end of data":
        cause = f"the file ends inside a multi-byte character (bytes {bad.hex(' ').upper()})"
    else:
        cause = f"byte 0x{bad[0]:02X} at file offset {offset + error.start} is no UTF-8 ({error.reason})"
        if 0x80 <= bad[0] <= 0xFF:
            cause += "; the file looks Latin-1 / Windows-1252 encoded"
    raise InputError(f"Raw file {path} is not valid UTF-8: line {line}: {cause}. Save it as UTF-8. {CONTRACT}")


def _check_records(path: Path) -> None:
    """Follow the records (quote-aware): the line breaks that end them must be of one kind (CRLF, LF or CR),
    and every quoted field must close. Physical lines are counted by LF, as editors number them. A quote opens a
    field only at its start (DuckDB reads `ab"c` as written); a doubled quote inside a quoted field is text."""
    first_of_kind: dict[str, int] = {}  # kind -> line it first ends
    quoted = False
    opened_on = 0  # line where the open quoted field started
    line = 1
    before = b"\n"  # the byte before the current position
    held_cr = False  # the block ended with a CR outside quotes: CRLF or CR depends on the next block
    held_quote = False  # the block ended with a quote closing a quoted field: doubled if the next one starts with one
    with path.open("rb") as file:
        while len(first_of_kind) < 2 and (block := file.read(BLOCK)):
            skip = -1
            if held_quote:
                held_quote = False
                if block[:1] == b'"':
                    quoted, skip = True, 0
            if held_cr:
                held_cr = False
                if block[:1] == b"\n":
                    first_of_kind.setdefault("CRLF", line)
                    line, skip = line + 1, 0
                else:
                    first_of_kind.setdefault("CR", line)
            for match in _QUOTE_OR_BREAK.finditer(block):
                at = match.start()
                if at == skip:
                    continue
                character = block[at : at + 1]
                following = block[at + 1 : at + 2]
                if character == b'"':
                    previous = block[at - 1 : at] if at else before
                    if quoted and following == b'"':
                        skip = at + 1  # a doubled quote inside a quoted field
                    elif quoted:
                        quoted, held_quote = False, not following
                    elif previous in (b",", b"\n", b"\r"):
                        quoted, opened_on = True, line
                elif character == b"\n":
                    if not quoted:
                        first_of_kind.setdefault("LF", line)
                    line += 1
                elif not quoted:  # a carriage return that ends a record
                    if not following:
                        held_cr = True
                    elif following == b"\n":
                        first_of_kind.setdefault("CRLF", line)
                        line, skip = line + 1, at + 1
                    else:
                        first_of_kind.setdefault("CR", line)
            before = block[-1:]
    if held_cr:
        first_of_kind.setdefault("CR", line)
    if len(first_of_kind) > 1:
        (kind, line_a), (other, line_b) = sorted(first_of_kind.items(), key=lambda item: item[1])[:2]
        raise InputError(
            f"Raw file {path} mixes line breaks: line {line_a} ends with {kind}, line {line_b} with {other} "
            f"(outside quoted fields). A CSV file ends every record the same way (RFC 4180: CRLF; LF is "
            f"accepted). {CONTRACT}"
        )
    if quoted:
        raise InputError(
            f"Raw file {path} has a quoted field that never closes: the quote opened on line {opened_on} runs to "
            f"the end of the file, so its records cannot be told apart (a quote inside a quoted field is written "
            f'twice: ""). {CONTRACT}'
        )


def csv_header_fields(path: Path) -> tuple[str, ...]:
    """The fields of the file's first line (UTF-8 BOM dropped), as the dbt hook splits them."""
    with path.open(encoding="utf-8-sig", newline="") as file:
        first_line = file.readline().rstrip("\r\n")
    if not first_line:
        return ()
    return tuple(next(csv.reader([first_line])))


def glob_literal(path: Path | str) -> str:
    """`path` as a DuckDB glob that matches only itself: [, * and ? become one-character classes."""
    return str(path).replace("[", "[[]").replace("*", "[*]").replace("?", "[?]")
