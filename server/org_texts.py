"""The organization's own texts for survivor pages (consent, handout), read once at start."""

from __future__ import annotations

from pathlib import Path

LANGUAGES = ("en", "fr")  # the languages the pages speak
MAX_TEXT_CHARS = 20000


def read_text(path: str) -> str:
    """One plain-text file: UTF-8, not too long, control characters dropped (line breaks kept)."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"{path} is longer than {MAX_TEXT_CHARS} characters")
    return clean_text(text)


def clean_text(text: str) -> str:
    """Plain text as pages show it: control characters dropped, line breaks and tabs kept."""
    kept = "".join(ch for ch in text.replace("\r\n", "\n") if ch.isprintable() or ch in "\n\t")
    return kept.strip()


def parse_text_files(spec: str) -> dict[str, str]:
    """Texts by language from 'PATH' (every language) or 'en=PATH,fr=PATH' ('' : none)."""
    spec = spec.strip()
    if not spec:
        return {}
    if "=" not in spec:
        text = read_text(spec)
        return dict.fromkeys(LANGUAGES, text)
    texts: dict[str, str] = {}
    for item in spec.split(","):
        lang, sep, path = item.partition("=")
        lang = lang.strip().lower()
        if not sep or not path.strip():
            raise ValueError("expected PATH, or LANGUAGE=PATH pairs such as en=a.txt,fr=b.txt")
        if lang not in LANGUAGES:
            raise ValueError(f"unknown language {lang[:8]!r}: use {' or '.join(LANGUAGES)}")
        if lang in texts:
            raise ValueError(f"language {lang!r} is given twice")
        texts[lang] = read_text(path.strip())
    return texts


def by_language(texts: dict[str, str]) -> dict[str, str]:
    """Every page language with its text ('' where the organization gave none)."""
    return {lang: texts.get(lang, "") for lang in LANGUAGES}
