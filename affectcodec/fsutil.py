"""Atomic writes: every output of the package appears whole or not at all.

:func:`atomic_path` hands out a temporary name beside the target and renames it into place when
the block succeeds; a failure (or ``kill -9``) never leaves a half-written file under the
target's name, and the temporary files of killed writers are cleaned up by the next writer.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _remove_stale_parts(path: Path) -> None:
    """Delete the temporary files of ``path`` left by killed writers (``kill -9`` runs no
    cleanup): each name carries its writer's process id, and only dead writers' files go."""
    prefix = f".{path.name}."
    for part in path.parent.glob(glob.escape(prefix) + "*.part"):
        pid = part.name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            part.unlink()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # someone else's process, or not a pid at all
        return True
    return True


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` that is renamed to ``path`` if the block succeeds.

    Missing parent folders are created, and removed again (if still empty) on failure, so a
    failure leaves nothing behind.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is False.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists (use -f to overwrite)")
    created = []
    parent = path.parent
    while not parent.exists():
        created.append(parent)
        parent = parent.parent
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=".part")
    os.close(fd)
    try:
        yield Path(tmp)
        if path.exists() and not force:  # appeared while we worked
            raise FileExistsError(f"{path} exists (use -f to overwrite)")
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        for folder in created:
            with contextlib.suppress(OSError):
                folder.rmdir()
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
