"""Writing a file so a reader sees the old one or the whole new one, never half of it.

Its own module because the scorecard, the prompt lock, the CLI and the pytest session all write
files a reader may open at any moment, and none of them should import another for it.
"""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so a reader sees the old file or the whole new one, never half of it.

    The file gets the mode a plain ``open(path, "w")`` would give it: an existing file keeps
    its mode, a new one gets 0666 less the umask (``mkstemp`` alone would leave it 0600, so a
    report meant for a CI artifact or a web server could not be read by anyone else).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.chmod(temporary, _plain_write_mode(path))
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _plain_write_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        pass
    # The umask can only be read by setting it; set it straight back.
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask
