"""Whole files: kerasx._io never lets a reader see part of a file."""

import os
import threading

import pytest

from kerasx import _io


def test_reader_never_sees_a_partial_file(tmp_path):
    """A plain ``open(path, "wb")`` writing in chunks is caught: the reader sees a prefix."""
    path = tmp_path / "big.bin"
    versions = [bytes([i]) * 2_000_000 for i in range(1, 6)]
    _io.write_bytes(path, versions[0])
    seen, stop = set(), threading.Event()

    def read():
        while not stop.is_set():
            data = path.read_bytes()
            seen.add((len(data), data[:1]))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for data in versions[1:]:
            with _io.atomic_path(path) as temporary, open(temporary, "wb") as f:
                for start in range(0, len(data), 100_000):  # slow, chunked writes
                    f.write(data[start : start + 100_000])
                    f.flush()
    finally:
        stop.set()
        reader.join()
    assert {length for length, _ in seen} == {2_000_000}
    assert path.read_bytes() == versions[-1]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    """Writing straight to the target would leave it truncated after the error."""
    path = tmp_path / "metrics.json"
    _io.write_json(path, {"accuracy": 0.5})
    with pytest.raises(RuntimeError, match="crash"):
        with _io.atomic_path(path) as temporary:
            with open(temporary, "w") as f:
                f.write('{"accura')
            raise RuntimeError("crash")
    assert path.read_text() == '{\n  "accuracy": 0.5\n}\n'
    assert os.listdir(tmp_path) == ["metrics.json"]


def test_the_temporary_keeps_the_suffix_and_folder(tmp_path):
    """Keras picks the format from the suffix; a temporary elsewhere would not be atomic."""
    with _io.atomic_path(tmp_path / "model.keras") as temporary:
        assert temporary.endswith(".keras")
        assert os.path.dirname(temporary) == str(tmp_path)
        open(temporary, "w").close()
    assert os.listdir(tmp_path) == ["model.keras"]


def test_nothing_written_is_an_error(tmp_path):
    """A library call that silently wrote nothing must not leave an empty target."""
    with pytest.raises(FileNotFoundError, match="Nothing was written"):
        with _io.atomic_path(tmp_path / "x.png"):
            pass
    assert not (tmp_path / "x.png").exists()


def test_readers_give_back_what_the_writers_wrote_and_the_default_when_missing(tmp_path):
    """Every writer takes ``(path, data)``; a reader of a missing file returns ``default``."""
    import pandas as pd

    table = pd.DataFrame({"trial_id": ["000", "001"], "score": [0.5, 0.75]})
    _io.write_csv(tmp_path / "trials.csv", table)
    _io.write_json(tmp_path / "best.json", {"score": 0.75})
    read = _io.read_csv(tmp_path / "trials.csv", dtype={"trial_id": str})
    pd.testing.assert_frame_equal(read, table)
    assert _io.read_json(tmp_path / "best.json") == {"score": 0.75}
    assert _io.read_json(tmp_path / "missing.json") is None
    assert _io.read_json(tmp_path / "missing.json", default={}) == {}
    assert _io.read_csv(tmp_path / "missing.csv") is None


def test_progress_prints_one_flushed_line_only_when_enabled(capsys):
    _io.progress("tune", "trial 000 COMPLETED")
    _io.progress("tune", "not shown", enabled=False)
    assert capsys.readouterr().out == "[kerasx tune] trial 000 COMPLETED\n"
