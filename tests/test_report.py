"""report.html and ``kerasx report``: built from a run folder made by hand (no training, fast).

The folder holds what ``kerasx malaria`` writes (metrics.json, run.json, the PNGs,
summary.txt) with numbers chosen so that every model and every row differs in the third
decimal; :func:`make_run_folder` is shared with ``test_report_browser.py``.
"""

import base64
import html.parser
import json
import os

import numpy as np
import pytest

from kerasx.cli import main
from kerasx.commands._html import FIGURES, render_report, write_report

# 0.0xy7 values: a page rounded to 2 decimals, or a column swapped, is off by > 5e-4.
_SCORES = {
    "mlp": {"accuracy": 0.7137, "sensitivity": 0.6841, "specificity": 0.7433, "mcc": 0.4283},
    "cnn": {"accuracy": 0.9317, "sensitivity": 0.9521, "specificity": 0.9113, "mcc": 0.8647},
    "baseline": {"accuracy": 0.6617, "sensitivity": 0.6023, "specificity": 0.7211, "mcc": 0.3251},
}
_IMAGES = [file for file, _, _ in FIGURES] + ["curves_mlp.png", "curves_cnn.png"]


def _png(path, seed):
    """A small real PNG (drawn by matplotlib), different for each file."""
    from kerasx._plotting import new_figure, save_figure

    figure = new_figure(2.0, 1.5)
    figure.subplots().plot(np.random.default_rng(seed).random(5))
    save_figure(figure, path, dpi=40)


def _calibration(temperature, ece):
    before = {"ece": ece, "brier": ece + 0.1011, "nll": ece + 0.3022, "accuracy": 0.5}
    if temperature is None:
        return {"temperature": None, "n_validation": 0, "before": before}
    after = {"ece": ece / 2 + 0.0003, "brier": ece + 0.0907, "nll": ece + 0.2813, "accuracy": 0.5}
    return {"temperature": temperature, "n_validation": 56, "before": before, "after": after}


def make_run_folder(root, *, data=None, images=_IMAGES, run_json=True):
    """Writes a run folder as ``kerasx malaria`` would; returns its metrics.json dict."""
    os.makedirs(root, exist_ok=True)
    metrics = {
        "data": {
            "source": "synthetic",
            "description": "SYNTHETIC malaria-like cells (procedural stand-in, NOT real data)",
            "synthetic": True,
            "split": "cell",
            "test_data": None,
            "external_validation": False,
            "evaluation": "held-out SYNTHETIC images (not real cells), n=280",
            "fraction": 0.5,
            "n_train": 1120,
            "n_test": 280,
            "split_seed": 0,
            **(data or {}),
        },
        "settings": {"epochs": 10, "batch_size": 32, "validation_split": 0.1, "seed": 0},
    }
    facts = {
        "mlp": {"roc_auc": 0.7717, "train_time_s": 12.94, "epochs_run": 7, "parameters": 958_851},
        "cnn": {"roc_auc": 0.9787, "train_time_s": 21.46, "epochs_run": 10, "parameters": 94_209},
        "baseline": {"roc_auc": 0.7233, "train_time_s": 0.57, "parameters": 3_073},
    }
    calibration = {"mlp": (1.4371, 0.0617), "cnn": (2.0813, 0.0437), "baseline": (None, 0.1231)}
    for name in ("mlp", "cnn", "baseline"):
        metrics[name] = {
            **_SCORES[name],
            **facts[name],
            "n": 280,
            "image_size": 32,
            "calibration": _calibration(*calibration[name]),
        }
    with open(os.path.join(root, "metrics.json"), "w") as file:
        json.dump(metrics, file)
    if run_json:
        run = {
            "command": "kerasx malaria --data synthetic --model all --out 'runs/a b&c'",
            "argv": ["kerasx", "malaria", "--data", "synthetic", "--quick"],
            "finished": "2025-01-01T00:00:00+00:00",
            "versions": {"kerasx": "0.1.0", "keras": "3.15.1"},
            "featured_model": "cnn",
            "models": {
                "mlp": {"title": "MLP", "summary": "Model: mlp\n dense", "parameters": 958_851,
                        "trainable": 958_844},
                "cnn": {"title": "CNN", "summary": "Model: cnn\n conv_1", "parameters": 94_209,
                        "trainable": 93_761},
                "baseline": {"title": "logistic", "summary": "LogisticRegression: 3,072 weights",
                             "parameters": 3_073, "trainable": 3_073},
            },
        }  # fmt: skip
        with open(os.path.join(root, "run.json"), "w") as file:
            json.dump(run, file)
    with open(os.path.join(root, "summary.txt"), "w") as file:
        file.write("Data: synthetic\n== MLP ==\nmy_dense_layer\n")
    for seed, name in enumerate(images):
        _png(os.path.join(root, name), seed)
    return metrics


class _Page(html.parser.HTMLParser):
    """Collects attributes, image sources and the cells of the page's tables."""

    def __init__(self):
        super().__init__()
        self.attributes, self.images, self.tables, self.tags = [], [], {}, []
        self._table = self._row = self._cell = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append(tag)
        self.attributes += [(tag, name, value) for name, value in attrs.items()]
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("id"), {})
        elif tag == "tr" and self._table is not None:
            self._row = self._table.setdefault(attrs.get("data-key"), {})
        elif tag == "td" and self._row is not None and "data-model" in attrs:
            self._cell = attrs["data-model"]
            self._row[self._cell] = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag == "td":
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._row[self._cell] += data


def parse_page(text):
    """The page's attributes, image sources and tables ``{table id: {row key: {model: text}}}``."""
    page = _Page()
    page.feed(text)
    return page


def assert_table_matches(tables, metrics):
    """Every cell of the comparison and calibration tables equals metrics.json's value as
    printed: 3 decimals (5e-4), train times 1 decimal, counts exact, missing values a dash."""
    comparison = tables["comparison"]
    for key in ("accuracy", "sensitivity", "specificity", "mcc", "roc_auc", "parameters"):
        assert set(comparison[key]) == {"mlp", "cnn", "baseline"}, key
        for name, text in comparison[key].items():
            expected = metrics[name].get(key)
            tolerance = 0 if key == "parameters" else 5e-4 + 1e-12
            value, *bracket = text.replace(",", "").split(" ", 1)
            assert float(value) == pytest.approx(expected, abs=tolerance), (key, name)
            interval = metrics[name].get("intervals", {}).get(key)
            if interval:  # written "0.966 [0.951, 0.978]"
                low, high = (float(v) for v in bracket[0].strip("[]").split())
                assert (low, high) == pytest.approx((interval["low"], interval["high"]), abs=5e-4)
            else:
                assert not bracket, (key, name, text)
    for name, text in comparison["train_time_s"].items():
        assert float(text) == pytest.approx(metrics[name]["train_time_s"], abs=0.05 + 1e-12)
    calibration = tables["calibration-table"]
    for key, row in calibration.items():
        if key is None:
            continue
        for name, text in row.items():
            entry = metrics[name]["calibration"]
            for part in key.split(".")[1:]:
                entry = (entry or {}).get(part)
            if entry is None:
                assert text == "–", (key, name)
            else:
                value = text.split(" ", 1)[0]  # ECE and Brier before: with their interval
                assert float(value) == pytest.approx(entry, abs=5e-4 + 1e-12), (key, name)
    return comparison, calibration


@pytest.fixture
def run_folder(tmp_path):
    metrics = make_run_folder(tmp_path / "run")
    return tmp_path / "run", metrics


def test_page_fetches_nothing(run_folder):
    """Every src and href is a data: URI and nothing else names a network address. Catches an
    image linked by file name (a broken page once the file moves) and any CDN stylesheet or
    font."""
    folder, _ = run_folder
    text = render_report(folder)
    page = parse_page(text)
    linked = [(tag, name, value) for tag, name, value in page.attributes if name in ("src", "href")]
    assert linked, "the page has no image"
    for tag, name, value in linked:
        assert value.startswith("data:"), (tag, name, value[:60])
        assert "http" not in value[:40]
    assert "://" not in text and "url(" not in text and "@import" not in text
    assert "script" not in page.tags  # plain HTML and CSS


def test_every_image_is_the_run_folders_png(run_folder):
    """Each figure and learning curve is embedded once, as a base64 PNG equal to its file.
    Catches one file embedded under another's heading and a figure skipped."""
    folder, _ = run_folder
    page = parse_page(render_report(folder))
    assert len(page.images) == len(_IMAGES)
    embedded = []
    for src in page.images:
        assert src.startswith("data:image/png;base64,")
        data = base64.b64decode(src.split(",", 1)[1], validate=True)
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        embedded.append(data)
    on_disk = [(folder / name).read_bytes() for name in _IMAGES]
    assert embedded == on_disk  # figures in FIGURES order, then curves per model


def test_table_numbers_equal_metrics_json(run_folder):
    folder, metrics = run_folder
    page = parse_page(render_report(folder))
    comparison, calibration = assert_table_matches(page.tables, metrics)
    assert comparison["epochs_run"] == {"mlp": "7", "cnn": "10", "baseline": "–"}
    assert calibration["calibration.temperature"] == {"mlp": "1.437", "cnn": "2.081",
                                                      "baseline": "–"}  # fmt: skip


def test_page_says_what_the_data_and_split_are(tmp_path):
    """A synthetic run carries the banner; a real folder does not, and the page names the split
    the numbers come from. Catches a banner shown always (or never) and a statement that does
    not follow metrics.json."""
    synthetic = tmp_path / "synthetic"
    make_run_folder(synthetic)
    text = render_report(synthetic)
    assert 'id="synthetic-banner"' in text and "SYNTHETIC DATA" in text
    statements = {
        "patient": ({"split": "patient"}, "Held-out patients"),
        "cell": ({"split": "cell"}, "Held-out cells"),
        "external": (
            {"split": None, "external_validation": True, "test_data": "/data/other"},
            "External test folder",
        ),
    }
    for name, (fields, statement) in statements.items():
        folder = tmp_path / name
        make_run_folder(folder, data={"synthetic": False, "source": "/data/cells", **fields})
        text = render_report(folder)
        assert "synthetic-banner" not in text, name
        assert statement in text, name


def test_text_from_the_run_folder_is_escaped(tmp_path):
    """Autoescaping is on: a folder name or description with markup shows as text. Catches a
    template rendered with autoescape off (the script tag would run)."""
    make_run_folder(tmp_path / "run", data={"description": "<script>alert(1)</script> & co"})
    text = render_report(tmp_path / "run")
    assert "<script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text
    assert "--out &#39;runs/a b&amp;c&#39;" in text  # the command, quoted for the shell


def test_command_and_model_summaries_are_shown(run_folder):
    folder, _ = run_folder
    text = render_report(folder)
    assert "kerasx malaria --data synthetic --model all" in text
    assert "CNN: 94,209 parameters (93,761 trainable)" in text
    assert "logistic: 3,073 parameters" in text and "conv_1" in text


def test_a_folder_without_run_json_or_gradcam_still_renders(tmp_path):
    """An MLP-only run (no gradcam.png) written before run.json existed: the page shows what
    there is and says what is missing. Catches a template that requires every key."""
    images = [name for name in _IMAGES if name not in ("gradcam.png", "curves_cnn.png")]
    make_run_folder(tmp_path / "old", images=images, run_json=False)
    text = render_report(tmp_path / "old")
    assert len(parse_page(text).images) == len(images)
    assert "Grad-CAM" not in text
    assert "does not record its command" in text
    assert "my_dense_layer" in text  # summary.txt instead


def test_write_report_replaces_the_page_whole(run_folder):
    folder, _ = run_folder
    (folder / "report.html").write_text("old")
    assert write_report(folder) == os.path.join(folder, "report.html")
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>")
    assert sorted(os.listdir(folder)) == sorted([*_IMAGES, "metrics.json", "run.json",
                                                 "summary.txt", "report.html"])  # fmt: skip


# --- kerasx report ---------------------------------------------------------------------------


def _report(argv, capsys):
    try:
        status = main(["report", *argv])
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


def test_kerasx_report_rebuilds_the_page(run_folder, capsys, tmp_path):
    folder, metrics = run_folder
    status, out, err = _report([str(folder)], capsys)
    assert status == 0 and err == ""
    assert out.strip() == f"[kerasx report] wrote {folder / 'report.html'}"
    assert_table_matches(parse_page((folder / "report.html").read_text()).tables, metrics)
    status, _, _ = _report([str(folder), "--output", str(tmp_path / "copy.html")], capsys)
    assert status == 0 and (tmp_path / "copy.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        ("missing", "no such folder"),
        ("file", "a file"),
        ("empty", "metrics.json' not found"),
        ("bad_json", "is not valid JSON"),
        ("not_a_run", "has no 'data' entry"),
        ("output_in_missing_folder", "no such folder"),
    ],
)
def test_kerasx_report_errors_are_one_line_and_exit_2(setup, expected, tmp_path, capsys):
    """Catches a traceback (e.g. a KeyError on a metrics.json that is not a run's) and
    argparse's usage block before the message."""
    folder = tmp_path / "run"
    argv = [str(folder)]
    if setup == "file":
        folder.write_text("x")
    elif setup != "missing":
        folder.mkdir()
    if setup == "bad_json":
        (folder / "metrics.json").write_text("{not json")
    elif setup == "not_a_run":
        (folder / "metrics.json").write_text("[1, 2]")
    elif setup == "output_in_missing_folder":
        make_run_folder(folder)
        argv += ["--output", str(tmp_path / "nope" / "page.html")]
    status, out, err = _report(argv, capsys)
    assert status == 2 and out == ""
    assert err.startswith("kerasx report: ") and err.count("\n") == 1, err
    assert expected in err and "Traceback" not in err and "usage:" not in err
    assert not (folder / "report.html").exists()


def test_kerasx_report_defaults_to_where_kerasx_malaria_writes(tmp_path, monkeypatch, capsys):
    """Without RUN_DIR it rebuilds ``kerasx malaria``'s default --out; a missing one is a
    one-line error at run time. Catches the two defaults drifting apart."""
    from kerasx.cli import build_parser
    from kerasx.commands.report import DEFAULT_RUN_DIR

    assert build_parser().parse_args(["malaria"]).out == DEFAULT_RUN_DIR
    monkeypatch.chdir(tmp_path)
    status, _, err = _report([], capsys)
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("kerasx report: run folder 'runs/malaria' not found")
    make_run_folder(tmp_path / DEFAULT_RUN_DIR)
    assert _report([], capsys)[0] == 0
    assert (tmp_path / DEFAULT_RUN_DIR / "report.html").exists()
