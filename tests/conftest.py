import os
from pathlib import Path

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

REPO = Path(__file__).resolve().parents[1]
TESTDATA = REPO.parent / "shared" / "testdata"


@pytest.fixture
def real_clip_path():
    """A real clip from the shared test set beside the checkout, when it is there."""
    path = TESTDATA / "realshort.mp4"
    if not path.exists():
        pytest.skip(f"real test clips not present at {TESTDATA}")
    return path
