"""infra/local/backup.py: an archive is refused unless every byte checks out, a restore never
overwrites or deletes data, modes (secrets 0600) survive, a directory in use is refused."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from infra.local import backup
from infra.local.datalock import LOCK_NAME, DataDirInUse, DataDirLock

pytestmark = pytest.mark.unit


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "aws" / "blobs").mkdir(parents=True)
    (root / "aws" / "snapshot-00000001.jsonl").write_text('{"k":"end","count":0}\n')
    (root / "aws" / "blobs" / "abc").write_bytes(bytes(range(256)) * 64)
    (root / "search").mkdir()
    (root / "search" / "meta.json").write_text("{}")
    secrets = root / "secrets.json"
    secrets.write_text('{"JWT_SECRET": "x"}')
    secrets.chmod(0o600)
    return root


def _tree(root: Path) -> dict[str, bytes]:
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != LOCK_NAME)
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}


def _archive(data_dir: Path, tmp_path: Path) -> Path:
    return backup.create(data_dir, tmp_path / "backups").archive


def test_a_round_trip_restores_every_file_and_keeps_secrets_0600(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    summary = backup.restore(archive, tmp_path / "restored")
    assert summary.files == 4
    assert _tree(tmp_path / "restored") == _tree(data_dir)
    assert (tmp_path / "restored" / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert not (tmp_path / "restored" / LOCK_NAME).exists()  # the lock taken for the backup is not data
    assert backup.verify(archive)["format"] == backup.FORMAT


def test_an_archive_with_one_flipped_byte_is_refused_and_nothing_is_written(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    raw = bytearray(archive.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    archive.write_bytes(bytes(raw))
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.restore(archive, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left behind


def test_a_truncated_archive_is_refused_even_with_a_matching_checksum_file(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    with pytest.raises(backup.BackupError, match="corrupt"):
        backup.verify(archive)
    # Someone "fixes" the checksum file: the archive itself still cannot be read whole.
    backup.checksum_path(archive).write_text(f"{backup._sha256_of(archive)}  {archive.name}\n")
    with pytest.raises(backup.BackupError, match="truncated"):
        backup.restore(archive, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_an_archive_without_its_checksum_file_is_refused(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    backup.checksum_path(archive).unlink()
    with pytest.raises(backup.BackupError, match="checksum file is missing"):
        backup.restore(archive, tmp_path / "restored")


def _rewrite(archive: Path, change: dict[str, bytes], extra: dict[str, bytes] | None = None) -> None:
    """The archive with some members' contents replaced (the manifest kept), checksum file renewed."""
    members: list[tuple[tarfile.TarInfo, bytes | None]] = []
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar:
            source = tar.extractfile(member)
            members.append((member, source.read() if source else None))
    with tarfile.open(archive, "w:gz") as tar:
        for member, body in members:
            body = change.get(member.name, body)
            if body is not None:
                member.size = len(body)
            tar.addfile(member, io.BytesIO(body) if body is not None else None)
        for name, body in (extra or {}).items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    backup.checksum_path(archive).write_text(f"{backup._sha256_of(archive)}  {archive.name}\n")


def test_a_member_that_differs_from_the_manifest_is_refused(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    _rewrite(archive, {"data/secrets.json": b'{"JWT_SECRET": "y"}'})
    with pytest.raises(backup.BackupError, match=r"secrets.json: size or SHA-256 differs"):
        backup.restore(archive, tmp_path / "restored")
    assert not (tmp_path / "restored").exists()


def test_a_member_outside_the_data_folder_is_refused(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    _rewrite(archive, {}, extra={"data/../escaped": b"x"})
    with pytest.raises(backup.BackupError, match="outside data/"):
        backup.restore(archive, tmp_path / "restored")
    assert not (tmp_path / "escaped").exists()


def test_a_non_empty_data_directory_is_kept_unless_forced_and_then_moved_aside(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    target = tmp_path / "target"
    target.mkdir()
    (target / "precious.txt").write_text("keep me")
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.restore(archive, target)
    assert _tree(target) == {"precious.txt": b"keep me"}

    backup.restore(archive, target, force=True)
    assert _tree(target) == _tree(data_dir)
    [aside] = tmp_path.glob("target.before-restore-*")
    assert (aside / "precious.txt").read_text() == "keep me"


def test_an_empty_data_directory_is_restored_into_without_force(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    (tmp_path / "empty").mkdir()
    backup.restore(archive, tmp_path / "empty")
    assert _tree(tmp_path / "empty") == _tree(data_dir)


def test_a_data_directory_in_use_is_neither_backed_up_nor_restored_over(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    with DataDirLock(data_dir, "the local runtime"):
        with pytest.raises(DataDirInUse, match=r"in use \(the local runtime, pid \d+\)"):
            backup.create(data_dir, tmp_path / "backups")
        with pytest.raises(DataDirInUse):
            backup.restore(archive, data_dir, force=True)
    assert len(list((tmp_path / "backups").glob("*.tar.gz"))) == 1
    assert not list(tmp_path.glob("data.before-restore-*"))


def test_the_manifest_lists_every_file_with_its_size_checksum_and_mode(data_dir: Path, tmp_path: Path) -> None:
    archive = _archive(data_dir, tmp_path)
    with tarfile.open(archive, "r:gz") as tar:
        source = tar.extractfile("manifest.json")
        assert source is not None
        manifest = json.loads(source.read())
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == {"aws/blobs/abc", "aws/snapshot-00000001.jsonl", "search/meta.json", "secrets.json"}
    assert files["secrets.json"]["mode"] == 0o600 and files["aws/blobs/abc"]["size"] == 256 * 64


def test_the_cli_reports_a_corrupt_archive_as_an_error_not_a_traceback(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = _archive(data_dir, tmp_path)
    archive.write_bytes(archive.read_bytes()[:-10])
    assert backup.main(["restore", str(archive), "--data-dir", str(tmp_path / "restored")]) == 1
    assert capsys.readouterr().err.startswith("error: ") and not (tmp_path / "restored").exists()
    assert backup.main(["create", "--data-dir", str(tmp_path / "nothing")]) == 1
