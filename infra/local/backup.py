"""`make backup` / `make restore`: a checksummed archive of the local data directory, and back.

What the data directory holds (``LOCAL_DATA_DIR``, default ``.local/data``): ``aws/`` (the embedded
AWS: snapshot and journal generations and the S3 blobs, infra/local/durability.py),
``secrets.json`` and ``kms-data-key.json`` (the local signing keys and the data key's material;
without them tokens and sealed 2FA secrets are unreadable), ``search/`` (the embedded search
engine's indexes) and, with ``STORAGE_BACKEND=local``, ``storage/`` (the objects). The archive holds
all of it, so a restored directory starts as the one backed up, search results included.

Consistency: a backup is taken of a stopped runtime only. The runtime, a backup and a restore each
hold the data directory's lock (infra/local/datalock.py) while they run, so a backup of a running
``make dev`` is refused with a message saying to stop it, and the runtime cannot start while a
backup or restore is under way. (Stopping takes a second: a clean stop folds the journal into a
snapshot. Copying a running one would also need the search index, which changes under a commit.)

The archive (``agents-meetings-data-<UTC time>.tar.gz``): every file under ``data/`` and, last,
``manifest.json`` with each file's path, size, SHA-256 and mode (and each directory's mode). Beside
it ``<archive>.sha256`` (``sha256sum`` format) holds the archive's own checksum.

Restore checks the archive's checksum, then unpacks into a fresh directory beside the target while
checking every member against the manifest (no member missing, none extra, no path outside
``data/``, nothing but files and directories), and only then swaps it in. A data directory that is
not empty is not overwritten unless ``--force`` (``FORCE=1``); then it is moved aside to
``<name>.before-restore-<time>``, never deleted. Modes are restored as recorded (``secrets.json``
stays 0600).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import stat
import sys
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from infra.local.datalock import LOCK_NAME, DataDirInUse, DataDirLock

REPO_ROOT = Path(__file__).resolve().parents[2]
FORMAT = "agents-meetings-local-backup"
VERSION = 1
MANIFEST = "manifest.json"
DATA = "data"
CHUNK = 1 << 20


class BackupError(RuntimeError):
    """The backup or restore cannot be done; the message says why and what was (not) changed."""


@dataclass(frozen=True)
class Summary:
    archive: Path
    files: int
    bytes: int


def default_data_dir() -> Path:
    return Path(os.environ.get("LOCAL_DATA_DIR") or REPO_ROOT / ".local" / "data")


def default_backup_dir() -> Path:
    return Path(os.environ.get("BACKUP_DIR") or REPO_ROOT / ".local" / "backups")


def checksum_path(archive: Path) -> Path:
    return archive.with_name(archive.name + ".sha256")


# --- create ---------------------------------------------------------------------------------------


def create(data_dir: Path, output: Path | None = None) -> Summary:
    """Archive ``data_dir`` (stopped: its lock is taken) into ``output`` (a file or a directory)."""
    data_dir = data_dir.resolve()
    if not data_dir.is_dir() or not any(p.name != LOCK_NAME for p in data_dir.iterdir()):
        raise BackupError(f"{data_dir}: no local data to back up (start the platform once with `make dev`)")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    output = output or default_backup_dir()
    archive = output / f"agents-meetings-data-{stamp}.tar.gz" if output.is_dir() or not output.suffix else output
    archive = archive.resolve()
    if archive.is_relative_to(data_dir):
        raise BackupError(f"{archive}: the archive cannot be written inside the data directory it backs up")
    if archive.exists():
        raise BackupError(f"{archive} exists already; name another")
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(archive.name + ".partial")
    with DataDirLock(data_dir, "a backup"):
        try:
            files = _write_archive(data_dir, partial, stamp)
            digest = _sha256_of(partial)
            os.replace(partial, archive)
        finally:
            partial.unlink(missing_ok=True)
    sidecar = checksum_path(archive)
    sidecar.write_text(f"{digest}  {archive.name}\n")
    return Summary(archive, len(files), sum(f["size"] for f in files))


def _write_archive(data_dir: Path, partial: Path, stamp: str) -> list[dict[str, Any]]:
    files: list[dict[str, Any]] = []
    directories: list[dict[str, Any]] = []
    with partial.open("wb") as raw, tarfile.open(fileobj=raw, mode="w:gz", format=tarfile.PAX_FORMAT) as tar:
        for path, relative in _walk(data_dir):
            info = path.lstat()
            member = tarfile.TarInfo(f"{DATA}/{relative}" if relative else DATA)
            member.mode = stat.S_IMODE(info.st_mode)
            member.mtime = int(info.st_mtime)
            if stat.S_ISDIR(info.st_mode):
                member.type = tarfile.DIRTYPE
                tar.addfile(member)
                directories.append({"path": relative, "mode": member.mode})
                continue
            member.size = info.st_size
            with path.open("rb") as source:
                hashing = _HashingReader(source)
                tar.addfile(member, hashing)
            if hashing.size != info.st_size:
                raise BackupError(f"{path} changed while it was read; nothing was written")
            files.append({"path": relative, "size": info.st_size, "sha256": hashing.hexdigest(), "mode": member.mode})
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "created_at": stamp,
            "source": str(data_dir),
            "directories": directories,
            "files": files,
        }
        body = json.dumps(manifest, indent=1).encode()
        member = tarfile.TarInfo(MANIFEST)
        member.size = len(body)
        member.mode = 0o600
        tar.addfile(member, io.BytesIO(body))
        raw.flush()
    with partial.open("rb") as done:
        os.fsync(done.fileno())
    return files


def _walk(data_dir: Path) -> Iterator[tuple[Path, str]]:
    """The data directory's entries, parents first, in a stable order; the lock is left out."""
    yield data_dir, ""
    for root, dirs, names in os.walk(data_dir):
        dirs.sort()
        here = Path(root)
        for name in [*sorted(dirs), *sorted(names)]:
            path = here / name
            relative = path.relative_to(data_dir).as_posix()
            if relative == LOCK_NAME:
                continue
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise BackupError(f"{path}: only files and directories can be backed up (a link or device?)")
            yield path, relative


class _HashingReader:
    def __init__(self, source: IO[bytes]):
        self.source = source
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data

    def hexdigest(self) -> str:
        return self.digest.hexdigest()


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- verify and restore ------------------------------------------------------------------------------


def verify(archive: Path) -> dict[str, Any]:
    """Check the archive's checksum and every member against its manifest; returns the manifest."""
    _check_archive_checksum(archive)
    return _read_members(archive, None)


def restore(archive: Path, data_dir: Path, *, force: bool = False) -> Summary:
    """Restore ``archive`` into ``data_dir``: verified in full before the data directory is touched."""
    archive, data_dir = archive.resolve(), data_dir.resolve()
    _check_archive_checksum(archive)
    occupied = data_dir.exists() and any(p.name != LOCK_NAME for p in data_dir.iterdir())
    if occupied and not force:
        raise BackupError(
            f"{data_dir} is not empty; nothing was changed. Restore into another directory "
            "(LOCAL_DATA_DIR=...), or pass FORCE=1 (--force) to move it aside and restore in its place"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    lock = DataDirLock(data_dir, "a restore") if data_dir.exists() else None
    if lock is not None:
        lock.acquire()  # refuses a running runtime's directory
    staging = data_dir.with_name(f".{data_dir.name}.restoring-{stamp}")
    aside: Path | None = None
    try:
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        staging.mkdir(mode=0o700)
        try:
            manifest = _read_members(archive, staging)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)  # our own half-unpacked copy, never the target
            raise
        if occupied:
            aside = data_dir.with_name(f"{data_dir.name}.before-restore-{stamp}")
            os.rename(data_dir, aside)
        elif data_dir.exists():
            (data_dir / LOCK_NAME).unlink(missing_ok=True)
            data_dir.rmdir()  # empty: nothing in it to keep
        try:
            os.rename(staging, data_dir)
        except OSError as exc:
            raise BackupError(
                f"{data_dir} could not be replaced ({exc}); the verified copy is in {staging}"
                + (f" and the previous data in {aside}" if aside else "")
            ) from exc
    finally:
        if lock is not None:
            lock.release()
    if aside is not None:
        print(f"the previous data directory was moved aside to {aside}", file=sys.stderr)
    return Summary(data_dir, len(manifest["files"]), sum(f["size"] for f in manifest["files"]))


def _check_archive_checksum(archive: Path) -> None:
    if not archive.is_file():
        raise BackupError(f"{archive}: no such archive")
    sidecar = checksum_path(archive)
    try:
        expected = sidecar.read_text().split()[0].lower()
    except (OSError, IndexError) as exc:
        raise BackupError(f"{sidecar}: the archive's checksum file is missing or empty; refusing it") from exc
    actual = _sha256_of(archive)
    if actual != expected:
        raise BackupError(
            f"{archive} is corrupt: its SHA-256 is {actual}, the checksum file says {expected}. Nothing was changed"
        )


def _read_members(archive: Path, into: Path | None) -> dict[str, Any]:
    """Every member checked (and written under ``into`` when given); the manifest, checked against them."""
    seen_files: dict[str, tuple[int, str]] = {}
    seen_dirs: set[str] = set()
    manifest: dict[str, Any] | None = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                if member.name == MANIFEST and member.isfile():
                    source = tar.extractfile(member)
                    assert source is not None
                    manifest = json.loads(source.read())
                    continue
                relative = _relative_name(member.name)
                if member.isdir():
                    seen_dirs.add(relative)
                    if into is not None:
                        (into / relative).mkdir(mode=0o700, exist_ok=True)
                    continue
                if not member.isfile() or not relative:
                    raise BackupError(f"{archive}: member {member.name!r} is not a plain file; refusing the archive")
                source = tar.extractfile(member)
                assert source is not None
                seen_files[relative] = _copy_member(source, into / relative if into is not None else None)
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        raise BackupError(f"{archive} cannot be read (truncated or corrupt: {exc}). Nothing was changed") from exc
    if manifest is None or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} has no {MANIFEST} of a local backup (truncated?). Nothing was changed")
    if manifest.get("version") != VERSION:
        raise BackupError(f"{archive}: backup format version {manifest.get('version')} is not {VERSION}")
    expected = {f["path"]: (f["size"], f["sha256"]) for f in manifest["files"]}
    problems = [f"{p}: missing" for p in sorted(expected.keys() - seen_files.keys())]
    problems += [f"{p}: not in the manifest" for p in sorted(seen_files.keys() - expected.keys())]
    problems += [
        f"{p}: size or SHA-256 differs from the manifest"
        for p in sorted(expected.keys() & seen_files.keys())
        if expected[p] != seen_files[p]
    ]
    if problems:
        raise BackupError(f"{archive} does not match its manifest ({'; '.join(problems[:5])}). Nothing was changed")
    if into is not None:
        for entry in manifest["files"]:
            (into / entry["path"]).chmod(int(entry["mode"]) & 0o777)
        for entry in sorted(manifest["directories"], key=lambda d: d["path"].count("/"), reverse=True):
            (into / entry["path"] if entry["path"] else into).chmod(int(entry["mode"]) & 0o777)
    return manifest


def _relative_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts or path.parts[0] != DATA:
        raise BackupError(f"member {name!r} lies outside {DATA}/; refusing the archive")
    return PurePosixPath(*path.parts[1:]).as_posix() if len(path.parts) > 1 else ""


def _copy_member(source: IO[bytes], target: Path | None) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    sink = None
    if target is not None:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        sink = os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")
    try:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        if sink is not None:
            sink.close()
    return size, digest.hexdigest()


# --- CLI --------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local.backup", description=__doc__.split("\n", 1)[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("create", help="archive the (stopped) local data directory")
    make.add_argument("--data-dir", type=Path, default=None, help="default: LOCAL_DATA_DIR or .local/data")
    make.add_argument("--output", type=Path, default=None, help="archive file or directory (default .local/backups)")
    back = commands.add_parser("restore", help="verify an archive, then restore it into the data directory")
    back.add_argument("archive", type=Path)
    back.add_argument("--data-dir", type=Path, default=None, help="default: LOCAL_DATA_DIR or .local/data")
    back.add_argument("--force", action="store_true", help="move a non-empty data directory aside first")
    check = commands.add_parser("verify", help="check an archive's checksum and every file in it")
    check.add_argument("archive", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "create":
            summary = create(args.data_dir or default_data_dir(), args.output)
            print(f"backed up {summary.files} files ({summary.bytes} bytes) to {summary.archive}")
            print(f"checksum in {checksum_path(summary.archive)}")
        elif args.command == "restore":
            summary = restore(args.archive, args.data_dir or default_data_dir(), force=args.force)
            print(f"restored {summary.files} files ({summary.bytes} bytes) into {summary.archive}")
        else:
            manifest = verify(args.archive)
            print(f"{args.archive}: intact, {len(manifest['files'])} files, taken {manifest['created_at']}")
    except (BackupError, DataDirInUse) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
