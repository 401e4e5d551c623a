"""How fast ``kerasx.data.audit.audit_split`` audits a split, and what the full NIH set would take.

Audits the patient split of a folder in the NIH layout (``split_files(DIR, split="patient",
seed=0)``, as ``kerasx audit DIR`` does) end to end: every file read and hashed, decoded once,
its pHash computed, the patients compared and every pair across the sides searched. Prints
images/s, then the two parts apart: the per-image part (read, decode, pHash), which grows with
the number of images, and the pair search, which grows with train × test and is timed on
random hashes of the same sizes. The time of the 27,558 NIH cells is estimated from the
per-image rate and a pair search of their size (80 / 20, as a patient split puts them). On the
restored NIH folder (``--data /tmp/nih``, 20,734 cells; see ``shared/data/nih/SOURCE.md``) the
whole audit of three quarters of the set is measured as well.

Target: the 27,558 cells audited within 5 minutes on this machine ("minutes, not hours", on
2 cores).

Usage::

    python benchmarks/bench_audit.py                  # the 2,800 shared cells
    python benchmarks/bench_audit.py --data /tmp/nih  # the restored NIH folder
    python benchmarks/bench_audit.py --quick          # 200 images (generated when no folder)
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _targets import Targets, machine
from PIL import Image

from kerasx.data import audit, split_files

SHARED = os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, "shared", "data")
DEFAULT_DATA = os.path.abspath(os.path.join(SHARED, "malaria_cells"))
#: The NIH malaria set: 27,558 cells of 200 patients.
FULL_SET = 27_558
TARGET_SECONDS = 300.0


def generated_folder(root, n=200, seed=0):
    """``n`` random PNGs (about 130×130, as the NIH cells) of ``n // 4`` patients, NIH layout."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        label = ("Parasitized", "Uninfected")[i % 2]
        os.makedirs(os.path.join(root, label), exist_ok=True)
        field = Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
        name = f"C{i // 4}P{i // 4}ThinF_IMG_20150101_000000_cell_{i}.png"
        field.resize((130, 128), Image.Resampling.BICUBIC).save(os.path.join(root, label, name))
    return root


def search_seconds(n_train, n_test, seed=0):
    """Seconds of the near-duplicate search between random pHashes of ``n_train`` and
    ``n_test`` images: its cost depends on the sizes only, not on the pictures."""
    rng = np.random.default_rng(seed)
    hashes = [rng.integers(0, 2**63, (n, 4), dtype=np.uint64) for n in (n_train, n_test)]
    start = time.perf_counter()
    audit._near_pairs(*hashes, audit.NEAR_DISTANCE)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 images; targets not enforced")
    parser.add_argument("--data", default=None, help=f"an NIH folder (default: {DEFAULT_DATA})")
    args = parser.parse_args(argv)
    print(machine())
    with tempfile.TemporaryDirectory() as scratch:
        data = args.data or DEFAULT_DATA
        if not os.path.isdir(data):
            data = generated_folder(scratch)
            print(f"{DEFAULT_DATA} not found: 200 generated images instead")
        train, test = split_files(data, split="patient", seed=0)
        if args.quick:
            train, test = train[:160], test[:40]
        audit.audit_split(train[:8], test[:8])  # warm-up: imports, thread pool
        start = time.perf_counter()
        result = audit.audit_split(train, test)
        seconds = time.perf_counter() - start
    n = result.n_train + result.n_test
    search = search_seconds(result.n_train, result.n_test)
    per_image = (seconds - search) / n
    full_train, full_test = round(0.8 * FULL_SET), round(0.2 * FULL_SET)
    full_search = search_seconds(full_train, full_test)
    full = per_image * FULL_SET + full_search
    found = (
        f"{len(result.shared_patients)} shared patients, {len(result.exact_duplicates)} exact "
        f"and {len(result.near_duplicates)} near-duplicates"
    )
    print(f"audit_split of the patient split of {data}: {result.n_train:,} + {result.n_test:,}")
    print(f"  {seconds:8.2f} s {n / seconds:10,.0f} images/s (whole audit; {found})")
    print(f"  {seconds - search:8.2f} s {1 / per_image:10,.0f} images/s read, decode and pHash")
    print(f"  {search:8.2f} s {'':10} pair search")
    print(
        f"full NIH set ({FULL_SET:,} cells, {full_train:,} + {full_test:,}): pair search measured "
        f"{full_search:.2f} s; estimated audit {full:,.0f} s ({FULL_SET / full:,.0f} images/s)"
    )
    targets = Targets(enforce=not args.quick)
    targets.at_most(f"seconds for the {FULL_SET:,} NIH cells (estimated)", full, TARGET_SECONDS)
    return targets.exit_status()


if __name__ == "__main__":
    raise SystemExit(main())
