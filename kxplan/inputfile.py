"""Reading an input file (a manifest, a saved plan) without surprises.

Only regular files are read: a named pipe would block the command forever and a device
such as /dev/zero would be read until memory runs out, so both are refused before a
byte is read. A file larger than `MAX_INPUT_BYTES` is refused too (no manifest or plan
comes near it: 10,000 tasks are about 2 MiB). Bad bytes are reported at their line and
column, not at the start of the file. See docs/manifest.md, "Input limits".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: The largest input kxplan reads, in bytes (32 MiB).
MAX_INPUT_BYTES = 32 * 1024 * 1024
MAX_INPUT_TEXT = "32 MiB"

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class InputFileError(Exception):
    """The file cannot be used as input. `line`/`col` say where (1:1 for the whole file).

    A plain exception, not a frozen dataclass: context managers set `__traceback__`.
    """

    def __init__(self, message: str, hint: str | None = None, line: int = 1, col: int = 1):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.line = line
        self.col = col


def read_input(path: str | Path, what: str = "manifest") -> bytes:
    """The bytes of the regular file `path`, at most `MAX_INPUT_BYTES` of them.

    Raises InputFileError (missing, not a regular file, too large, unreadable): `what`
    ("manifest", "plan file") goes into the message.
    """
    try:
        _check_kind(os.stat(path).st_mode, what)
        # O_NONBLOCK: a FIFO swapped in after the stat still cannot block the open.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise InputFileError("no such file", "check the path") from None
    except OSError as err:
        raise InputFileError(f"cannot read the file: {err.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        _check_kind(os.fstat(fd).st_mode, what)
        data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise InputFileError(
            f"the file is larger than {MAX_INPUT_TEXT}, the most kxplan reads as a {what}",
            f"split it into several manifests of at most {MAX_INPUT_TEXT} each"
            if what == "manifest"
            else "check that this is the file you meant",
        )
    return data


def _check_kind(mode: int, what: str) -> None:
    if stat.S_ISREG(mode):
        return
    kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
    raise InputFileError(
        f"is {kind}, not a regular file: kxplan reads a {what} from a regular file only",
        "save the content to a file and pass that file's path",
    )


def decode_utf8(data: bytes) -> str:
    """`data` as text; InputFileError at the line and column of the first invalid byte."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line, col = byte_position(data, err.start)
        raise InputFileError(
            f"not a text file (invalid UTF-8 byte 0x{data[err.start]:02x})",
            "save the file as UTF-8 text",
            line,
            col,
        ) from None


def byte_position(data: bytes, offset: int) -> tuple[int, int]:
    """1-based (line, column) of byte `offset`; the column counts characters."""
    start = data.rfind(b"\n", 0, offset) + 1
    col = len(data[start:offset].decode("utf-8", errors="replace")) + 1
    return data.count(b"\n", 0, offset) + 1, col


def text_position(text: str, index: int) -> tuple[int, int]:
    """1-based (line, column) of character `index` of `text`."""
    index = max(0, min(index, len(text)))
    start = text.rfind("\n", 0, index) + 1
    return text.count("\n", 0, index) + 1, index - start + 1
