"""Finding the model file in a model directory, as KServe's sklearnserver does; no kserve import.

A module of its own so that both the model server's command line (which must not import the slow
``kserve`` package before it has to) and the model class share it without importing each other.
"""

from __future__ import annotations

from pathlib import Path

MODEL_SUFFIXES = (".joblib", ".pkl", ".pickle")


class ModelLoadError(RuntimeError):
    pass


def find_model_file(model_dir: Path) -> Path:
    """The single ``.joblib``/``.pkl``/``.pickle`` file in ``model_dir``."""
    if not model_dir.is_dir():
        raise ModelLoadError(f"model directory {model_dir} does not exist")
    files = sorted(p for p in model_dir.iterdir() if p.suffix in MODEL_SUFFIXES)
    if len(files) != 1:
        found = ", ".join(p.name for p in files) or "none"
        raise ModelLoadError(
            f"expected exactly one model file ({'/'.join(MODEL_SUFFIXES)}) in {model_dir}, found {found}"
        )
    return files[0]
