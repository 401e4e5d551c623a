"""Training across processes with Keras 3's own engine: ``keras.distribution`` on JAX.

One process per machine (or per device) runs the same script; the three variables Keras reads in
:func:`keras.distribution.initialize` tell each process where the cluster's coordinator is, how
many processes there are and which one it is:

- ``KERAS_DISTRIBUTION_JOB_ADDRESSES``: ``host:port`` of process 0 (the coordinator), or every
  process's address, comma separated (then the first is the coordinator);
- ``KERAS_DISTRIBUTION_NUM_PROCESSES``: the number of processes, an integer >= 1;
- ``KERAS_DISTRIBUTION_PROCESS_ID``: this process's id, from 0 to that number - 1.

:func:`initialize_from_env` checks them, starts JAX's distributed runtime through
:func:`keras.distribution.initialize` and makes :class:`keras.distribution.DataParallel` over
every process's devices the global distribution. Every process then holds the same weights, and
each training step averages the gradients of one global batch whose rows are spread over the
processes (:func:`process_share` cuts each process's share out of a global batch). Process 0 is
the chief (:func:`is_chief`): the only one that should write files.

Without the variables nothing happens, so a script calls :func:`initialize_from_env` first and
runs the same on one process or many:

>>> initialize_from_env({})  # no KERAS_DISTRIBUTION_* variable: one process
>>> is_chief(), process_count()
(True, 1)
>>> parse_env({"KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234",
...            "KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": "1"})
{'job_addresses': '10.0.0.1:1234', 'num_processes': 2, 'process_id': 1}
>>> parse_env({"KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": "2",
...            "KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234"})
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `KERAS_DISTRIBUTION_PROCESS_ID`. Expected an integer \
from 0 to KERAS_DISTRIBUTION_NUM_PROCESSES - 1 = 1. Received: KERAS_DISTRIBUTION_PROCESS_ID='2'

Multi-process training needs the JAX backend (``KERAS_BACKEND=jax``): Keras 3 does not run
``tf.distribute.MultiWorkerMirroredStrategy`` (keras-team/keras#20585), and its TensorFlow
backend has no ``keras.distribution.initialize``. On CPU the processes exchange
the gradients with gloo over TCP (JAX's ``jax_cpu_collectives_implementation``, which
:func:`initialize_from_env` sets to ``"gloo"`` where a JAX leaves it unset).
:class:`kerasx.training.TapeModel` keeps ``tf.distribute.MirroredStrategy``
for several devices of one machine.
"""

import contextlib
import os
import sys
import tempfile

import numpy as np

from kerasx._validation import invalid_value

__all__ = [
    "ENV_VARIABLES",
    "ProcessShard",  # noqa: F822 (built on first use, see __getattr__)
    "initialize_from_env",
    "is_chief",
    "local_copy",
    "local_scope",
    "parse_env",
    "process_count",
    "process_index",
    "process_share",
    "process_values",
]

_ADDRESSES = "KERAS_DISTRIBUTION_JOB_ADDRESSES"
_NUM_PROCESSES = "KERAS_DISTRIBUTION_NUM_PROCESSES"
_PROCESS_ID = "KERAS_DISTRIBUTION_PROCESS_ID"

#: The variables :func:`keras.distribution.initialize` reads, in the order a launcher sets them.
ENV_VARIABLES = (_ADDRESSES, _NUM_PROCESSES, _PROCESS_ID)


def _env_int(environ, name, minimum, maximum=None, expected=None):
    text = environ[name]
    try:
        value = int(text.strip())
    except ValueError:
        value = None
    if value is None or value < minimum or (maximum is not None and value > maximum):
        raise invalid_value(name, expected or f"an integer >= {minimum}", text)
    return value


def _check_address(address, text):
    host, colon, port = address.strip().rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise invalid_value(_ADDRESSES, "host:port (a port from 1 to 65535), comma separated", text)


def parse_env(environ=None):
    """Reads and checks the ``KERAS_DISTRIBUTION_*`` variables.

    Args:
        environ: a mapping like ``os.environ`` (the default).

    Returns:
        ``None`` when none of :data:`ENV_VARIABLES` is set (one process), else a dict with
        ``job_addresses`` (str), ``num_processes`` and ``process_id`` (ints), the arguments of
        :func:`keras.distribution.initialize`.

    Raises:
        ValueError: a variable is missing, not an integer, out of range, or an address is not
            ``host:port``; or the number of addresses differs from the number of processes.
    """
    environ = os.environ if environ is None else environ
    given = [name for name in ENV_VARIABLES if environ.get(name, "").strip()]
    if not given:
        return None
    for name in ENV_VARIABLES:
        if name not in given:
            raise invalid_value(
                name, f"to be set with {', '.join(given)} (all three or none)", environ.get(name)
            )
    num_processes = _env_int(environ, _NUM_PROCESSES, minimum=1)
    process_id = _env_int(
        environ,
        _PROCESS_ID,
        minimum=0,
        maximum=num_processes - 1,
        expected=f"an integer from 0 to {_NUM_PROCESSES} - 1 = {num_processes - 1}",
    )
    text = environ[_ADDRESSES]
    addresses = text.split(",")
    for address in addresses:
        _check_address(address, text)
    if len(addresses) > 1 and len(addresses) != num_processes:
        raise invalid_value(
            _ADDRESSES,
            f"one address (the coordinator's) or {_NUM_PROCESSES}={num_processes} addresses",
            text,
        )
    return {
        "job_addresses": ",".join(a.strip() for a in addresses),
        "num_processes": num_processes,
        "process_id": process_id,
    }


def initialize_from_env(environ=None):
    """Joins the cluster the ``KERAS_DISTRIBUTION_*`` variables describe, if they are set.

    Call it once, first thing, before any model or array is built. With the variables set it
    calls :func:`keras.distribution.initialize` (which starts ``jax.distributed`` and agrees on
    one random seed) and sets ``keras.distribution.DataParallel(auto_shard_dataset=False)`` over
    every process's devices: each process passes *its own share* of every global batch to
    ``fit`` (see :func:`process_share`), while validation arrays given whole are seen once per
    process, which leaves the validation means and metrics unchanged. ``predict`` needs
    :func:`local_copy`.

    Args:
        environ: a mapping like ``os.environ`` (the default).

    Returns:
        ``None`` without the variables; else the ``keras.distribution.DataParallel`` set.

    Raises:
        ValueError: the variables are invalid (:func:`parse_env`), or set under a Keras backend
            other than JAX.
    """
    settings = parse_env(environ)
    if settings is None:
        return None
    import keras

    backend = keras.backend.backend()
    if backend != "jax":
        raise invalid_value(
            "KERAS_BACKEND",
            "'jax' when KERAS_DISTRIBUTION_* are set (Keras 3 trains across processes on JAX only)",
            backend,
        )
    import jax

    if getattr(jax.config, "jax_cpu_collectives_implementation", "gloo") is None:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")  # CPU: none without it
    keras.distribution.initialize(**settings)
    distribution = keras.distribution.DataParallel(auto_shard_dataset=False)
    keras.distribution.set_distribution(distribution)
    return distribution


def _distributed_jax():
    """JAX when its distributed runtime runs in this process, else ``None`` (imports nothing)."""
    jax = sys.modules.get("jax")
    if jax is None or not jax.distributed.is_initialized():
        return None
    return jax


def process_count():
    """The number of processes training together (1 without :func:`initialize_from_env`)."""
    jax = _distributed_jax()
    return 1 if jax is None else jax.process_count()


def process_index():
    """This process's id, from 0 (the chief) to :func:`process_count` - 1."""
    jax = _distributed_jax()
    return 0 if jax is None else jax.process_index()


def is_chief():
    """Whether this process writes the outputs: process 0, or the only process."""
    return process_index() == 0


def process_values(value):
    """Every process's ``value`` (a number), in process order, on every process.

    Every process must call it at the same point. Use it where the processes must agree, e.g.
    on the epoch a resumed run starts at: all of them then see a disagreement and can stop
    together with the same error (one process stopping alone leaves the others waiting).

    >>> process_values(3)
    array([3])
    """
    if process_count() == 1:
        return np.asarray([value])
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(np.asarray(value))).reshape(-1)


@contextlib.contextmanager
def local_scope():
    """Runs Keras on this process's devices only: no global distribution inside.

    Keras's JAX ``predict`` cannot return the rows of a batch spread over processes (it turns
    them into one NumPy array, and JAX refuses to fetch another process's rows), so a model
    trained across processes predicts, evaluates and explains through :func:`local_copy` inside
    this scope. With one process it changes nothing.
    """
    import keras

    previous = keras.distribution.distribution()
    keras.distribution.set_distribution(None)
    try:
        yield
    finally:
        keras.distribution.set_distribution(previous)


def local_copy(model):
    """A copy of a model trained across processes that lives on this process's devices.

    Round-trips ``model`` (compiled, with its optimizer state) through a ``.keras`` file in a
    private temporary folder, loaded in :func:`local_scope` with ``safe_mode`` on: the copy's
    ``predict``, ``evaluate`` and ``save`` then work on one process, inside the scope. Every
    process copies its own replica of the weights (no communication). With one process it
    returns ``model`` itself.

    Args:
        model: a ``keras.Model`` built while :func:`initialize_from_env`'s distribution was set.

    Returns:
        ``model`` (one process) or its copy.
    """
    if process_count() == 1:
        return model
    import keras

    with tempfile.TemporaryDirectory(prefix="kerasx-local-") as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        with local_scope():
            return keras.saving.load_model(path)


def _check_index(num_processes, index):
    if not 0 <= index < num_processes:
        raise invalid_value("index", f"an integer from 0 to {num_processes - 1}", index)


def process_share(batches, num_processes=None, index=None):
    """This process's share of every global batch of a ``tf.data.Dataset`` or ``PyDataset``.

    Pass the result to ``fit`` where one process would pass ``batches``: each global batch of
    ``m`` rows is cut along its first axis into ``num_processes`` equal, contiguous parts and
    this process keeps part ``index``; JAX puts the parts back together in process order, so
    every step trains on exactly the global batch one process would. Where ``m`` is not a
    multiple of ``num_processes`` (a last, smaller batch), every process keeps the whole batch:
    the step then sees it ``num_processes`` times over, which leaves the mean loss and its
    gradient, hence the weights, as one process gets them, while the epoch's *training* metrics
    count that batch ``num_processes`` times.

    Args:
        batches: a batched ``tf.data.Dataset`` of tuples, or a ``keras.utils.PyDataset`` (any
            object with ``__len__`` and ``__getitem__``) of tuples of arrays.
        num_processes: defaults to :func:`process_count`.
        index: this process's part; defaults to :func:`process_index`.

    Returns:
        ``batches`` itself for one process; else a dataset of the same kind
        (:class:`ProcessShard` for a ``PyDataset``).

    >>> import tensorflow as tf
    >>> batches = tf.data.Dataset.range(11).batch(4).map(lambda x: (x, -x))
    >>> [y.numpy().tolist() for _, y in process_share(batches, 2, 1)]
    [[-2, -3], [-6, -7], [-8, -9, -10]]
    >>> arrays = [(np.arange(4), np.arange(4)), (np.arange(3), np.arange(3))]  # a PyDataset
    >>> shard = process_share(arrays, 2, 1)
    >>> type(shard).__name__, shard[0][1], shard[1][1]
    ('ProcessShard', array([2, 3]), array([0, 1, 2]))
    """
    num_processes = process_count() if num_processes is None else num_processes
    index = process_index() if index is None else index
    _check_index(num_processes, index)
    if num_processes == 1:
        return batches
    if not hasattr(batches, "element_spec"):
        return __getattr__("ProcessShard")(batches, num_processes, index)
    import tensorflow as tf

    def share(*batch):
        rows = tf.shape(batch[0], out_type=tf.int64)[0]
        even = tf.equal(rows % num_processes, 0)
        size = tf.where(even, rows // num_processes, rows)
        start = tf.where(even, index * size, 0)
        return tuple(part[start : start + size] for part in batch)

    return batches.map(share, num_parallel_calls=tf.data.AUTOTUNE)


def _process_shard_class():
    import keras

    class ProcessShard(keras.utils.PyDataset):
        """This process's share of each global batch of a ``keras.utils.PyDataset``.

        The ``PyDataset`` form of :func:`process_share` (same cut, same rule for a batch whose
        rows are not a multiple of the processes). ``dataset`` is read at every call, so a wrapped
        dataset that changes per epoch (e.g. a new order) still does.

        Args:
            dataset: a ``keras.utils.PyDataset`` (any object with ``__len__`` and ``__getitem__``)
                of global batches: tuples of arrays with the rows on the first axis.
            num_processes: defaults to :func:`process_count`.
            index: this process's part; defaults to :func:`process_index`.
        """

        def __init__(self, dataset, num_processes=None, index=None, **kwargs):
            super().__init__(**kwargs)
            self.dataset = dataset
            self.num_processes = process_count() if num_processes is None else num_processes
            self.index = process_index() if index is None else index
            _check_index(self.num_processes, self.index)

        def __len__(self):
            return len(self.dataset)

        def __getitem__(self, index):
            batch = self.dataset[index]
            rows = len(batch[0])
            if rows % self.num_processes:
                return tuple(batch)  # every process: the whole batch (see process_share)
            share = rows // self.num_processes
            start = self.index * share
            return tuple(np.asarray(part)[start : start + share] for part in batch)

        def on_epoch_begin(self):
            if hasattr(self.dataset, "on_epoch_begin"):
                self.dataset.on_epoch_begin()

        def on_epoch_end(self):
            if hasattr(self.dataset, "on_epoch_end"):
                self.dataset.on_epoch_end()

    ProcessShard.__qualname__ = "ProcessShard"
    return ProcessShard


def __getattr__(name):
    # ProcessShard subclasses keras.utils.PyDataset: built on first use, so importing this
    # module does not import Keras (a command chooses its backend before Keras is imported).
    if name == "ProcessShard":
        globals()[name] = _process_shard_class()
        return globals()[name]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
