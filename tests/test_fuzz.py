"""Every file a stranger sends: seeded mutations of real clips (byte flips, truncations, spliced chunks), each
read by `python -m explainer dissect` in a process of its own under a time limit. Every case either reads
or ends in one readable `error:` line with exit status 2 — never a traceback, a crash or a hang."""
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from conftest import REPO, TESTDATA

from explainer.assets import SAMPLES

SEED = 20261202
CASES_PER_CLIP = 6
TIME_LIMIT_S = 90  # a case that takes longer has hung: the reader's own decode budget is 30 s


def originals() -> list:
    clips = [REPO / "assets" / SAMPLES[name][0] for name in SAMPLES]
    clips += [TESTDATA / name for name in ("realshort.mp4", "newtonscradle.gif") if (TESTDATA / name).exists()]
    return clips


def mutate(data: bytes, rng: np.random.Generator, kind: str) -> bytes:
    """One seeded mutation of a file's bytes; the first 64 bytes (the container's magic) are kept, so the
    reader takes the damaged file for what it was."""
    data = bytearray(data)
    head = 64
    if kind == "flip":
        for _ in range(int(rng.integers(1, 40))):
            data[int(rng.integers(head, len(data)))] ^= int(rng.integers(1, 256))
    elif kind == "truncate":
        data = data[: int(rng.integers(head, len(data)))]
    elif kind == "splice":  # a chunk of the file copied over another place
        size = int(rng.integers(16, max(17, len(data) // 8)))
        source, target = (int(rng.integers(head, len(data) - size)) for _ in range(2))
        data[target:target + size] = data[source:source + size]
    return bytes(data)


def fuzz_cases(folder) -> list:
    rng = np.random.default_rng(SEED)
    cases = []
    for clip in originals():
        data = clip.read_bytes()
        for n in range(CASES_PER_CLIP):
            kind = ("flip", "truncate", "splice")[n % 3]
            path = folder / f"{clip.stem}-{kind}-{n}{clip.suffix}"
            path.write_bytes(mutate(data, rng, kind))
            cases.append(path)
    return cases


def dissect(path):
    try:
        done = subprocess.run([sys.executable, "-m", "explainer", "dissect", str(path), "--json"], cwd=REPO,
                              capture_output=True, text=True, timeout=TIME_LIMIT_S)
    except subprocess.TimeoutExpired:
        return path, None, "", f"no answer within {TIME_LIMIT_S} s"
    return path, done.returncode, done.stdout, done.stderr


@pytest.mark.slow
def test_damaged_clips_read_or_fail_with_one_readable_line(tmp_path):
    cases = fuzz_cases(tmp_path)
    assert len(cases) >= 3 * CASES_PER_CLIP
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(dissect, cases))
    wrong = []
    for path, status, out, err in results:
        lines = err.strip().splitlines()
        readable = status == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err
        if not (status == 0 and out.strip().startswith("{") or readable):
            wrong.append((path.name, status, err.strip()[-300:]))
    assert not wrong, wrong
    print(f"\n{len(cases)} damaged clips: {sum(r[1] == 0 for r in results)} read, "
          f"{sum(r[1] == 2 for r in results)} refused with a readable message")
