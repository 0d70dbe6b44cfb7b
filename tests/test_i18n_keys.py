"""Every i18n file has the same keys (nested), each a non-empty string where another has one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

I18N = Path(__file__).resolve().parent.parent / "client_web" / "i18n"

# Imports each language module with node and prints {file: {dotted.key: type}}.
DUMP = """
const files = process.argv.slice(1);
const out = {};
for (const file of files) {
  const strings = (await import(file)).default;
  const keys = {};
  const walk = (node, path) => {
    for (const [key, value] of Object.entries(node)) {
      const here = path ? `${path}.${key}` : key;
      if (value && typeof value === "object") walk(value, here);
      else keys[here] = typeof value === "string" && value.trim() ? "text" : typeof value;
    }
  };
  walk(strings, "");
  out[file] = keys;
}
console.log(JSON.stringify(out));
"""


def language_files() -> list[Path]:
    return sorted(p for p in I18N.glob("*.js") if p.name != "index.js")


def dump(files: list[Path]) -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    result = subprocess.run(
        [node, "--input-type=module", "-e", DUMP, *[p.as_uri() for p in files]],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    keys: dict[str, dict[str, str]] = json.loads(result.stdout)
    return {Path(k.removeprefix("file://")).name: v for k, v in keys.items()}


def missing(keys: dict[str, dict[str, str]]) -> list[str]:
    """Lines saying which file lacks which key another file has, or has it empty."""
    problems = []
    every = set().union(*(set(k) for k in keys.values()))
    for name, have in sorted(keys.items()):
        for key in sorted(every - set(have)):
            problems.append(f"{name} lacks {key}")
        for key, kind in sorted(have.items()):
            if kind != "text":
                problems.append(f"{name}: {key} is not a non-empty string ({kind})")
    return problems


def test_languages_are_english_and_french() -> None:
    assert [p.name for p in language_files()] == ["en.js", "fr.js"]


def test_every_language_has_every_key() -> None:
    keys = dump(language_files())
    assert len(keys) == 2 and all(len(k) > 100 for k in keys.values()), keys.keys()
    assert missing(keys) == []


def test_a_missing_or_empty_key_is_found(tmp_path: Path) -> None:
    """The check itself: a file without a nested key, or with an empty one, is named."""
    (tmp_path / "a.js").write_text('export default { a: "x", b: { c: "y", d: "z" } };')
    (tmp_path / "b.js").write_text('export default { a: "x", b: { c: "" }, e: "w" };')
    keys = dump([tmp_path / "a.js", tmp_path / "b.js"])
    assert missing(keys) == [
        "a.js lacks e",
        "b.js lacks b.d",
        "b.js: b.c is not a non-empty string (string)",
    ]
