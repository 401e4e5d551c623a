"""``kerasx.data.audit.audit_split`` and ``kerasx audit``: planted leaks are found, clean splits
(generated, and a real patient split of the shared cells) report nothing."""

import io
import os
import re
import shutil

import numpy as np
import PIL.Image
import pytest

from kerasx import InvalidArgument
from kerasx.cli import main
from kerasx.data import audit as audit_module
from kerasx.data import patient_id, split_files
from kerasx.data.audit import (
    NEAR_DISTANCE,
    PHASH_BITS,
    DuplicatePair,
    PatientOverlap,
    audit_split,
)

# --------------------------------------------------------------------------------------------
# Images and planted cases


def _smooth(rng, height=90, width=84):
    """A random 16×16 colour field upsampled: distinct draws are ~128 pHash bits apart.

    16×16, not fewer: the pHash reads the 16×16 lowest DCT frequencies, and a coarser field
    leaves the upper ones near 0, where JPEG noise flips their bits (a 5×5 field moved by up to
    68 bits under JPEG 75; real cells by at most 6).
    """
    field = PIL.Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8))
    return np.asarray(field.resize((width, height), PIL.Image.Resampling.BICUBIC))


def _nih_name(k, cell=0):
    return f"C{k}P{k}ThinF_IMG_20150101_000000_cell_{cell}.png"


def _generated_cells(folder, n, seed=0):
    """``n`` PNGs of ``n`` patients, plus a second cell of patient 3: ``(files, other_of_3)``."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    files = []
    for k in range(n):
        files.append(os.path.join(folder, _nih_name(k)))
        PIL.Image.fromarray(_smooth(rng)).save(files[-1])
    other = os.path.join(folder, _nih_name(3, cell=1))
    PIL.Image.fromarray(_smooth(rng)).save(other)
    return files, other


def _real_cells(malaria_dir, n):
    """The first cell of each of ``n`` patients of the shared folder, and another cell of the
    fourth patient."""
    by_patient = {}
    for label in ("Parasitized", "Uninfected"):
        folder = os.path.join(malaria_dir, label)
        for name in sorted(os.listdir(folder)):
            by_patient.setdefault(patient_id(name), []).append(os.path.join(folder, name))
    patients = [p for p, cells in by_patient.items() if len(cells) >= 2][:n]
    return [by_patient[p][0] for p in patients], by_patient[patients[3]][1]


def _jpeg_round_trip(source, target, quality=75):
    buffer = io.BytesIO()
    PIL.Image.open(source).convert("RGB").save(buffer, "JPEG", quality=quality)
    buffer.seek(0)
    PIL.Image.open(buffer).save(target, "PNG")


def _one_pixel_smaller(source, target):
    image = PIL.Image.open(source).convert("RGB")
    image.resize((image.width - 1, image.height - 1), PIL.Image.Resampling.BILINEAR).save(target)


def _planted_split(cells, other_of_patient_3, folder):
    """Train: cells 0-5. Test: cell 0 copied under a new name, cell 1 re-encoded as JPEG and back
    to PNG, cell 2 one pixel smaller, another cell of patient 3, and cells 6-7 (clean)."""
    os.makedirs(folder, exist_ok=True)
    copy = os.path.join(folder, "copy_of_a_cell.png")
    jpeg = os.path.join(folder, "C900P900ThinF_IMG_20160101_000000_cell_1.png")
    resized = os.path.join(folder, "C901P901ThinF_IMG_20160101_000000_cell_2.png")
    shutil.copyfile(cells[0], copy)
    _jpeg_round_trip(cells[1], jpeg)
    _one_pixel_smaller(cells[2], resized)
    test = [copy, jpeg, resized, other_of_patient_3, *cells[6:8]]
    return cells[:6], test, (copy, jpeg, resized)


def _check_planted(train, test, planted):
    copy, jpeg, resized = planted
    result = audit_split(train, test)
    assert not result and not result.clean
    assert (result.n_train, result.n_test, result.near_distance) == (6, 6, NEAR_DISTANCE)
    assert result.shared_patients == (
        PatientOverlap(patient_id(train[3]), (train[3],), (test[3],)),
    )
    assert result.exact_duplicates == (DuplicatePair(train[0], copy, 0),)
    pairs = {(p.train, p.test) for p in result.near_duplicates}
    assert pairs == {(train[1], jpeg), (train[2], resized)}
    distances = [p.distance for p in result.near_duplicates]
    assert distances == sorted(distances) and max(distances) <= NEAR_DISTANCE
    assert result.files_without_patient == 1  # the copy's new name names no patient
    summary = result.summary()
    assert "1 (1 file without a patient name, not checked)" in summary
    for path in (*train[:4], *test[:4]):
        assert os.path.basename(path) in summary
    assert "verdict: LEAKY (1 shared patient, 1 exact duplicate)" in summary
    assert f"near-duplicates (pHash distance <= {NEAR_DISTANCE} of 256)   2" in summary
    return result


def test_planted_leaks_of_generated_images_are_all_found(tmp_path):
    cells, other = _generated_cells(tmp_path / "cells", 8)
    _check_planted(*_planted_split(cells, other, tmp_path / "test"))


def test_planted_leaks_of_real_cells_are_all_found(tmp_path, malaria_dir):
    cells, other = _real_cells(malaria_dir, 8)
    _check_planted(*_planted_split(cells, other, tmp_path / "test"))


def test_a_clean_split_reports_nothing(tmp_path):
    cells, _ = _generated_cells(tmp_path, 8)
    result = audit_split(cells[:5], cells[5:])
    assert result and result.clean
    assert result.shared_patients == () and result.exact_duplicates == ()
    assert result.near_duplicates == () and result.files_without_patient == 0
    summary = result.summary()
    assert "verdict: clean (no shared patient, no exact duplicate)" in summary
    assert "Split audit: 5 train and 3 test images" in summary
    assert summary.count("\n") == 4  # the counts and the verdict: no findings listed


def test_a_real_patient_split_does_not_cry_wolf(malaria_dir):
    """The patient split of the 2,800 shared cells: no shared patient, no duplicate, and no
    pair within 24 bits, 8 beyond the default threshold (the closest pair across the sides is
    36 bits apart, two different uninfected cells; see kerasx/data/audit.py)."""
    train, test = split_files(malaria_dir, split="patient", seed=0)
    result = audit_split(train, test, near_distance=24)
    assert result.clean
    assert result.near_duplicates == () and result.files_without_patient == 0
    assert NEAR_DISTANCE < 24


def test_a_real_cell_split_shares_patients(malaria_dir):
    train, test = split_files(malaria_dir, split="cell", seed=0, fraction=0.2)
    result = audit_split(train, test)
    assert not result and len(result.shared_patients) > 10
    assert result.exact_duplicates == ()
    for overlap in result.shared_patients:
        assert {patient_id(f) for f in overlap.train + overlap.test} == {overlap.patient}
        assert set(overlap.train) <= set(train) and set(overlap.test) <= set(test)


# --------------------------------------------------------------------------------------------
# The pHash and the pair search against references


def _imagehash_bits(image):
    imagehash = pytest.importorskip("imagehash")
    return imagehash.phash(image, hash_size=16).hash.flatten()


def _our_bits(image):
    words = audit_module._phash(audit_module._thumbnail(image)[None])
    return np.unpackbits(words.astype(">u8").view(np.uint8)).astype(bool)


def test_phash_is_imagehash_phash_bit_for_bit(rng):
    images = [PIL.Image.fromarray(_smooth(rng, 40 + i, 70 - i)) for i in range(20)]
    images += [PIL.Image.fromarray(rng.integers(0, 256, (33, 47, 3), dtype=np.uint8))]
    for image in images:
        np.testing.assert_array_equal(_our_bits(image), _imagehash_bits(image))


def test_phash_is_imagehash_phash_on_real_cells(malaria_dir):
    folder = os.path.join(malaria_dir, "Parasitized")
    for name in sorted(os.listdir(folder))[:40]:
        image = PIL.Image.open(os.path.join(folder, name))
        np.testing.assert_array_equal(_our_bits(image), _imagehash_bits(image))


def _brute_force_pairs(train, test, max_distance):
    def bits(words):
        return np.unpackbits(words.astype(">u8").view(np.uint8), axis=1)

    distance = (bits(train)[:, None, :] != bits(test)[None, :, :]).sum(-1)
    return sorted(
        (int(distance[i, j]), i, j)
        for i in range(len(train))
        for j in range(len(test))
        if distance[i, j] <= max_distance
    )


@pytest.mark.parametrize("popcount", ["numpy", "byte table"])
def test_near_pairs_match_brute_force(monkeypatch, rng, popcount):
    """Blocks smaller than the data (so several blocks and a partial one), both popcounts."""
    if popcount == "byte table":
        monkeypatch.delattr(np, "bitwise_count", raising=False)
    monkeypatch.setattr(audit_module, "_PAIRS_PER_BLOCK", 7 * 40)
    train = rng.integers(0, 2**63, (40, 4), dtype=np.uint64)
    test = rng.integers(0, 2**63, (23, 4), dtype=np.uint64)
    for j, i in enumerate((5, 5, 17, 39)):  # near copies: flip a few bits of train rows
        test[j] = train[i] ^ np.array([1 << j, 0, 3 << 20, 0], np.uint64)
    expected = _brute_force_pairs(train, test, 70)
    assert len(expected) >= 4
    found = audit_module._near_pairs(train, test, 70)
    assert [(d, i, j) for i, j, d in found] == expected


def test_every_copy_of_an_exact_duplicate_is_listed(tmp_path):
    cells, _ = _generated_cells(tmp_path / "cells", 3)
    train = [*cells, str(tmp_path / "again.png")]
    shutil.copyfile(cells[0], train[-1])
    test = [str(tmp_path / "c1.png"), str(tmp_path / "c2.png")]
    for path in test:
        shutil.copyfile(cells[0], path)
    result = audit_split(train, test)
    assert [(p.train, p.test) for p in result.exact_duplicates] == [
        (train[0], test[0]),
        (train[0], test[1]),
        (train[3], test[0]),
        (train[3], test[1]),
    ]
    assert result.near_duplicates == ()  # exact pairs are not listed again
    assert "first 2 of 4" in result.summary(max_pairs=2)
    assert "exact duplicates (4)" not in result.summary(max_pairs=0)
    assert "  =  " not in result.summary(max_pairs=0)


# --------------------------------------------------------------------------------------------
# Arrays


def test_arrays_find_exact_and_near_duplicates_by_row(rng):
    train = np.stack([_smooth(rng, 64, 64) for _ in range(6)])
    buffer = io.BytesIO()
    PIL.Image.fromarray(train[4]).save(buffer, "JPEG", quality=75)
    jpeg = np.asarray(PIL.Image.open(buffer))
    # The test side as float in [0, 1], as load_malaria returns: row 0 is train row 2.
    test = np.stack([train[2], jpeg, _smooth(rng, 64, 64)]).astype(np.float32) / 255
    result = audit_split(train, test)
    assert result.shared_patients is None and not result.clean
    assert result.exact_duplicates == (DuplicatePair(2, 0, 0),)
    assert [(p.train, p.test) for p in result.near_duplicates] == [(4, 1)]
    summary = result.summary()
    assert "not checked (arrays have no file names)" in summary
    assert (
        "train row 2  =  test row 0" in summary and "exact duplicates (identical pixels)" in summary
    )
    assert audit_split(train[:2], test[2:]).clean


# --------------------------------------------------------------------------------------------
# Bad input


def _images(n=2, dtype=np.uint8):
    return np.zeros((n, 8, 8, 3), dtype)


@pytest.mark.parametrize(
    ("train", "test", "match"),
    [
        (["a.png"], _images(), r"Expected the same kind of input as train \(files\)"),
        ([], ["a.png"], r"argument `train`. Expected a non-empty list of image files"),
        ("a.png", ["a.png"], r"argument `train`. Expected a non-empty list"),
        (["a.png"], [3], r"argument `test`. Expected a non-empty list .* Received: test=list"),
        (np.zeros((2, 8, 8)), _images(), r"Expected a non-empty list of image files or an array"),
        (_images(0), _images(), r"Received: train=array of shape \(0, 8, 8, 3\)"),
        (
            np.zeros((2, 192)),
            _images(),
            r"shape \(2, 192\) and dtype float64 load_malaria returns flat",
        ),
        (_images(), _images().astype(np.int64), r"uint8 or float. Received: test=array"),
        (_images(), _images(dtype=np.float32) + 2, r"Expected float pixel values in \[0, 1\]"),
        (_images(), _images(dtype=np.float32) * np.nan, r"Expected float pixel values in \[0, 1\]"),
    ],
)
def test_bad_sides_are_refused(train, test, match):
    with pytest.raises(InvalidArgument, match=match):
        audit_split(train, test)


@pytest.mark.parametrize("near_distance", [-1, 65, 1.5, True])
def test_bad_near_distance_is_refused(near_distance):
    with pytest.raises(InvalidArgument, match=r"argument `near_distance`. Expected an integer"):
        audit_split(_images(), _images(), near_distance=near_distance)


def test_an_undecodable_file_is_named(tmp_path):
    cells, _ = _generated_cells(tmp_path, 2)
    broken = tmp_path / "C7P7ThinF_IMG_broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not an image")
    with pytest.raises(
        InvalidArgument,
        match=r"Cannot decode .*C7P7ThinF_IMG_broken.png' as an "
        r"image \(not an image format that PIL reads\). Remove or replace the file",
    ):
        audit_split(cells, [str(broken)])
    truncated = tmp_path / "C8P8ThinF_IMG_truncated.png"
    truncated.write_bytes(open(cells[0], "rb").read()[:200])
    with pytest.raises(InvalidArgument, match=r"Cannot decode .*C8P8ThinF_IMG_truncated.png' as "):
        audit_split(cells, [str(truncated)])
    with pytest.raises(FileNotFoundError, match=r"missing\.png"):
        audit_split(cells, [str(tmp_path / "missing.png")])


# --------------------------------------------------------------------------------------------
# The command


def _nih_folder(root, *, patients=4, cells=3, seed=0, first=0):
    """A folder in the NIH layout, ``cells`` generated cells of each of ``patients`` patients
    per class (other patients in each class), patients numbered from ``first``."""
    rng = np.random.default_rng(seed)
    for c, label in enumerate(("Parasitized", "Uninfected")):
        os.makedirs(root / label)
        for p in range(patients):
            for cell in range(cells):
                name = _nih_name(first + 10 * c + p, cell)
                PIL.Image.fromarray(_smooth(rng, 40, 40)).save(root / label / name)
    return str(root)


def test_command_on_a_clean_patient_split(tmp_path, capsys):
    folder = _nih_folder(tmp_path / "cells")
    assert main(["audit", folder]) == 0
    out = capsys.readouterr().out
    assert f"[kerasx audit] patient split of {folder} (seed 0)" in out
    assert "patients on both sides                          0" in out
    assert f"near-duplicates (pHash distance <= {NEAR_DISTANCE} of {PHASH_BITS})   0" in out
    assert "verdict: clean" in out


def test_command_exits_1_on_shared_patients(tmp_path, capsys):
    folder = _nih_folder(tmp_path / "cells")
    assert main(["audit", folder, "--split", "cell", "--seed", "1"]) == 1
    out = capsys.readouterr().out
    assert "[kerasx audit] cell split" in out and "verdict: LEAKY (" in out
    assert re.search(r"shared patients \(\d+\):\n  \w+: \d+ train, \d+ test \(e\.g\. train C", out)


def test_command_exits_1_on_an_exact_duplicate_across_folders(tmp_path, capsys):
    train, test = _nih_folder(tmp_path / "a"), _nih_folder(tmp_path / "b", seed=1, first=100)
    leaked = os.path.join(train, "Uninfected", _nih_name(12, 1))
    shutil.copyfile(leaked, os.path.join(test, "Parasitized", "renamed.png"))
    assert main(["audit", train, "--test-data", test, "--near-distance", "10"]) == 1
    out = capsys.readouterr().out
    assert f"[kerasx audit] all of {train} against all of {test}" in out
    assert f"train {os.path.basename(leaked)}  =  test renamed.png" in out
    assert "near-duplicates (pHash distance <= 10 of 256)   0" in out
    assert "LEAKY (1 exact duplicate)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--split", "cell", "--test-data", "{folder}"],
            "Invalid value for argument `split`. Expected no value with --test-data",
        ),
        (["--fraction", "0.5", "--test-data", "{folder}"], "Received: fraction=0.5"),
        (
            ["--near-distance", "65"],
            "Invalid value for argument `near_distance`. Expected an integer in [0, 64]",
        ),
    ],
)
def test_command_bad_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    folder = _nih_folder(tmp_path / "cells", patients=2, cells=1)
    argv = [arg.format(folder=folder) for arg in argv]
    assert main(["audit", folder, *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before anything is listed or printed
    assert captured.err.startswith("kerasx audit: ") and captured.err.count("\n") == 1
    assert message in captured.err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["{tmp}/missing"], "kerasx audit: argument DIR: expected a folder of Parasitized/"),
        (["{tmp}", "--test-data", "{tmp}/missing"], "argument --test-data: expected a folder"),
        (["{tmp}", "--split", "group"], "argument --split: invalid choice: 'group'"),
        (["{tmp}", "--seed", "-1"], "argument --seed: expected an integer >= 0. Received: '-1'"),
        (["{tmp}", "--fraction", "0"], "argument --fraction: expected a float in (0, 1]."),
        (["{tmp}", "--near-distance", "x"], "argument --near-distance: expected an integer >= 0"),
    ],
)
def test_command_bad_options_are_refused_when_parsed(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["audit", *(arg.format(tmp=tmp_path) for arg in argv)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_command_without_a_folder_is_one_line(capsys):
    assert main(["audit"]) == 2
    assert capsys.readouterr().err == "kerasx audit: the following arguments are required: DIR\n"


def test_command_wrong_layout_is_one_line(tmp_path, capsys):
    (tmp_path / "C1P1ThinF_IMG_1_cell_1.png").write_bytes(b"")
    assert main(["audit", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no class subfolder(s) ['Parasitized', 'Uninfected']" in err
    assert err.count("\n") == 1


def test_command_help_states_the_exit_statuses_and_threshold(capsys):
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "Exit status: 0 when clean, 1 when a patient or an identical image is on both" in out
    assert "2 for bad input" in out
    assert f"(default: {NEAR_DISTANCE}, measured on the NIH cells" in out
