"""The one declared list of system packages (system-packages.txt) is what every set-up installs from."""

from __future__ import annotations

import subprocess

import pytest

from infra.catalog import REPO_ROOT

pytestmark = pytest.mark.unit

SCRIPT = REPO_ROOT / "scripts" / "system-packages.sh"


def listed(*sets: str) -> list[str]:
    result = subprocess.run(["bash", str(SCRIPT), "--list", *sets], capture_output=True, text=True, check=True)
    return result.stdout.split()


def test_the_tests_system_tools_are_all_declared() -> None:
    # Each binary the suite runs for real (SAML xmlsec1 backend, slapd, media tools) comes from the list.
    assert {"xmlsec1", "slapd", "ldap-utils", "ffmpeg", "espeak-ng", "sox"} <= set(listed("runtime", "test"))


def test_the_pipeline_image_gets_ffmpeg_from_the_list() -> None:
    assert listed("image") == ["ffmpeg"]
    dockerfile = (REPO_ROOT / "infra/images/pipeline/Dockerfile").read_text()
    assert "system-packages.sh image" in dockerfile
    assert "apt-get install" not in dockerfile  # no second, hand-written list


def test_make_dev_and_make_test_install_from_the_list() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "scripts/system-packages.sh runtime test" in makefile
    assert "scripts/system-packages.sh runtime\n" in makefile
    assert "apt-get install" not in makefile


def test_an_unknown_set_lists_nothing() -> None:
    assert listed("no-such-set") == []
