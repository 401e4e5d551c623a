"""kerasx.distribution: the KERAS_DISTRIBUTION_* checks, the per-process shards, and 2 processes
training on localhost exactly as 1 process does."""

import os
import socket
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from kerasx import distribution

ADDRESSES, NUM_PROCESSES, PROCESS_ID = distribution.ENV_VARIABLES


def _env(addresses="10.0.0.1:1234", num_processes="2", process_id="0"):
    return {ADDRESSES: addresses, NUM_PROCESSES: num_processes, PROCESS_ID: process_id}


class TestParseEnv:
    def test_no_variable_means_one_process(self):
        assert distribution.parse_env({}) is None
        assert distribution.parse_env({ADDRESSES: " ", "OTHER": "1"}) is None
        assert distribution.initialize_from_env({}) is None

    def test_valid(self):
        assert distribution.parse_env(_env(process_id="1")) == {
            "job_addresses": "10.0.0.1:1234",
            "num_processes": 2,
            "process_id": 1,
        }

    def test_one_address_per_process(self):
        parsed = distribution.parse_env(_env(addresses="10.0.0.1:1234, 10.0.0.2:2345"))
        assert parsed["job_addresses"] == "10.0.0.1:1234,10.0.0.2:2345"

    def test_the_last_process_id_is_valid(self):
        """An off-by-one check (``process_id < num_processes - 1``) rejects this."""
        assert distribution.parse_env(_env(num_processes="3", process_id="2"))["process_id"] == 2

    def test_reads_os_environ_by_default(self, monkeypatch):
        for name, value in _env().items():
            monkeypatch.setenv(name, value)
        assert distribution.parse_env()["num_processes"] == 2

    @pytest.mark.parametrize(
        ("env", "message"),
        [
            (
                {NUM_PROCESSES: "2", PROCESS_ID: "0"},
                f"argument `{ADDRESSES}`. Expected to be set with {NUM_PROCESSES}, {PROCESS_ID} "
                f"(all three or none). Received: {ADDRESSES}=None",
            ),
            (
                _env(num_processes="two"),
                f"argument `{NUM_PROCESSES}`. Expected an integer >= 1. "
                f"Received: {NUM_PROCESSES}='two'",
            ),
            (
                _env(num_processes="0"),
                f"argument `{NUM_PROCESSES}`. Expected an integer >= 1. Received: {NUM_PROCESSES}='0'",
            ),
            (
                _env(process_id="-1"),
                f"argument `{PROCESS_ID}`. Expected an integer from 0 to {NUM_PROCESSES} - 1 = 1.",
            ),
            (_env(process_id="2"), f"Received: {PROCESS_ID}='2'"),
            (_env(process_id="1.0"), f"Received: {PROCESS_ID}='1.0'"),
            (_env(addresses="10.0.0.1"), f"Received: {ADDRESSES}='10.0.0.1'"),
            (_env(addresses=":1234"), "Expected host:port"),
            (_env(addresses="10.0.0.1:0"), "a port from 1 to 65535"),
            (_env(addresses="10.0.0.1:65536"), "a port from 1 to 65535"),
            (_env(addresses="host:12a"), "Expected host:port"),
            (
                _env(addresses="a:1,b:2,c:3"),
                f"Expected one address (the coordinator's) or {NUM_PROCESSES}=2 addresses",
            ),
        ],
    )
    def test_invalid(self, env, message):
        """Literal parts of the one message form (``kerasx._validation``)."""
        with pytest.raises(ValueError) as error:
            distribution.parse_env(env)
        assert str(error.value).startswith("Invalid value for argument `KERAS_DISTRIBUTION_")
        assert message in str(error.value)

    @pytest.mark.skipif(
        os.environ.get("KERAS_BACKEND", "tensorflow") == "jax", reason="checks a non-JAX backend"
    )
    def test_needs_the_jax_backend(self):
        """Keras's TensorFlow backend has no ``initialize``: an AttributeError without the check."""
        with pytest.raises(ValueError, match="Expected 'jax' when KERAS_DISTRIBUTION_"):
            distribution.initialize_from_env(_env())


def test_import_does_not_import_keras():
    """``kerasx malaria`` reads the variables to choose its backend before Keras is imported."""
    code = (
        "import sys; from kerasx import distribution; "
        "distribution.parse_env(); print(distribution.is_chief(), 'keras' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["True", "False"]


class TestOneProcess:
    def test_chief(self):
        assert distribution.is_chief()
        assert (distribution.process_count(), distribution.process_index()) == (1, 0)
        assert distribution.process_values(7).tolist() == [7]

    def test_local_copy_is_the_model(self):
        import keras

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        assert distribution.local_copy(model) is model
        with distribution.local_scope():
            assert keras.distribution.distribution() is None


class TestProcessShard:
    @pytest.mark.parametrize("num_processes", [1, 2, 3])
    def test_shards_put_together_are_the_global_batch(self, num_processes):
        """Reference: ``np.split`` of each global batch, the parts in process order."""
        x = np.arange(48.0).reshape(24, 2)
        batches = [(x[i : i + 12], x[i : i + 12, 0]) for i in (0, 12)]
        shards = [
            distribution.ProcessShard(batches, num_processes, k) for k in range(3)[:num_processes]
        ]
        for b, (bx, by) in enumerate(batches):
            assert np.array_equal(np.concatenate([s[b][0] for s in shards]), bx)
            assert np.array_equal(np.concatenate([s[b][1] for s in shards]), by)
            for k, s in enumerate(shards):
                assert np.array_equal(s[b][0], np.split(bx, num_processes)[k])

    def test_a_batch_not_a_multiple_goes_whole_to_every_process(self):
        """Its mean over the processes' copies is its own mean; dropping rows would change it."""
        batches = [(np.arange(7), np.arange(7)), (np.arange(1),)]
        for k in (0, 1):
            shard = distribution.ProcessShard(batches, 2, k)
            assert len(shard) == 2
            assert shard[0][0].tolist() == list(range(7)) and shard[1][0].tolist() == [0]

    @pytest.mark.parametrize("num_processes", [2, 3])
    def test_tf_data_matches_the_pydataset_form(self, num_processes):
        """The reference: :class:`ProcessShard` on the same batches (checked above)."""
        import tensorflow as tf

        x = np.arange(22.0).reshape(11, 2)
        dataset = tf.data.Dataset.from_tensor_slices((x, x[:, 0])).batch(4)
        batches = [(x[i : i + 4], x[i : i + 4, 0]) for i in range(0, 11, 4)]
        for k in range(num_processes):
            shared = list(distribution.process_share(dataset, num_processes, k))
            expected = distribution.ProcessShard(batches, num_processes, k)
            assert len(shared) == len(expected) == 3
            for got, want in zip(shared, (expected[i] for i in range(3)), strict=True):
                np.testing.assert_array_equal(got[0].numpy(), want[0])
                np.testing.assert_array_equal(got[1].numpy(), want[1])

    def test_one_process_is_the_dataset(self):
        batches = [(np.arange(5), np.ones(5))]
        assert distribution.process_share(batches) is batches
        shard = distribution.ProcessShard(batches)
        assert len(shard) == 1 and np.array_equal(shard[0][0], np.arange(5))

    def test_invalid_index(self):
        with pytest.raises(
            ValueError, match=r"Expected an integer from 0 to 1\. Received: index=2"
        ):
            distribution.ProcessShard([], 2, 2)


# Run as `python worker.py OUT` with or without the KERAS_DISTRIBUTION_* variables.
_WORKER = textwrap.dedent(
    """
    import math, os, sys

    import numpy as np

    from kerasx import _io, distribution

    distribution.initialize_from_env()
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self, x, y, batch_size):
            super().__init__()
            self.x, self.y, self.batch_size = x, y, batch_size

        def __len__(self):
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, i):
            rows = slice(i * self.batch_size, (i + 1) * self.batch_size)
            return self.x[rows], self.y[rows]

    rng = np.random.default_rng(0)
    x = rng.normal(size=(100, 6)).astype("float32")
    y = (x @ rng.normal(size=6) > 0).astype("float32")
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="relu"),
         keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy", metrics=["accuracy"])
    shard = distribution.process_share(Batches(x[:80], y[:80], 16))
    history = model.fit(
        shard, validation_data=(x[80:], y[80:]), epochs=4, shuffle=False, verbose=0
    ).history
    local = distribution.local_copy(model)
    with distribution.local_scope():
        predictions = local.predict(x[80:], verbose=0)

    # As `kerasx malaria` feeds it: one tf.data iterator over every epoch, 81 rows a epoch, so
    # the last batch of each (1 row) goes whole to both processes.
    import tensorflow as tf

    keras.utils.set_random_seed(2)
    model_tf = keras.models.clone_model(model)
    model_tf.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    epochs = tf.data.Dataset.from_tensor_slices((x[:81], y[:81])).batch(16).repeat(3)
    history_tf = model_tf.fit(
        distribution.process_share(epochs), steps_per_epoch=6, epochs=3,
        validation_data=(x[81:], y[81:]), verbose=0,
    ).history
    rank = distribution.process_index()
    with _io.atomic_path(os.path.join(sys.argv[1], f"process-{rank}.npz")) as path:
        np.savez(
            path, *model.get_weights(), predictions=predictions,
            tf_weights=np.concatenate([w.ravel() for w in model_tf.get_weights()]),
            tf_val_loss=history_tf["val_loss"],
            loss=history["loss"], val_loss=history["val_loss"],
            val_accuracy=history["val_accuracy"], rows_per_step=len(shard[0][0]),
            chief=distribution.is_chief(), count=distribution.process_count(),
            values=distribution.process_values(10 + rank),
        )
    if distribution.is_chief():
        _io.write_text(os.path.join(sys.argv[1], "chief-only.txt"), "written by the chief")
    """
)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(tmp_path, out, env_extra):
    out.mkdir()
    env = {
        **os.environ,
        "KERAS_BACKEND": "jax",
        "JAX_PLATFORMS": "cpu",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        **env_extra,
    }
    for name in distribution.ENV_VARIABLES:
        if name not in env_extra:
            env.pop(name, None)
    return subprocess.Popen(
        [sys.executable, str(tmp_path / "worker.py"), str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait(processes):
    outputs = [p.communicate(timeout=600)[0] for p in processes]
    for p, output in zip(processes, outputs, strict=True):
        assert p.returncode == 0, output[-3000:]


def _load(path):
    with np.load(path) as f:
        return {name: f[name] for name in f.files}


@pytest.mark.slow
def test_two_processes_train_like_one_on_the_same_global_batch(tmp_path):
    """2 processes x 1 CPU device on localhost end on the weights of 1 process (float tolerance).

    Each process gets half of every global batch of 16 rows; wrong shards (both processes on
    the same half, or each training alone without averaging the gradients) end elsewhere
    (measured: both on the first half moves the weights by 0.26). The tf.data run also has a
    1-row batch each epoch, which both processes take whole; dropping it would change the
    weights.
    """
    (tmp_path / "worker.py").write_text(_WORKER, encoding="utf-8")
    _wait([_launch(tmp_path, tmp_path / "one", {})])
    port = _free_port()
    pair = [
        _launch(
            tmp_path,
            tmp_path / f"two-{rank}",
            {
                ADDRESSES: f"127.0.0.1:{port}",
                NUM_PROCESSES: "2",
                PROCESS_ID: str(rank),
            },
        )
        for rank in (0, 1)
    ]
    _wait(pair)
    one = _load(tmp_path / "one" / "process-0.npz")
    two = [_load(tmp_path / f"two-{rank}" / f"process-{rank}.npz") for rank in (0, 1)]
    assert int(one["rows_per_step"]) == 16 and int(one["count"]) == 1
    assert one["values"].tolist() == [10]
    assert os.listdir(tmp_path / "two-1") == ["process-1.npz"]  # the chief alone wrote more
    assert (tmp_path / "two-0" / "chief-only.txt").exists()
    for rank, result in enumerate(two):
        assert int(result["rows_per_step"]) == 8
        assert bool(result["chief"]) == (rank == 0) and int(result["count"]) == 2
        assert result["values"].tolist() == [10, 11]
        for name in one:
            if name.startswith(("arr_", "tf_")) or name in ("predictions", "loss", "val_loss"):
                assert result[name].shape == one[name].shape, name
                np.testing.assert_allclose(result[name], one[name], rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(result["val_accuracy"], one["val_accuracy"])
    # The training moved the weights: equal results are not equal starting points.
    assert not np.allclose(one["loss"][0], one["loss"][-1])
