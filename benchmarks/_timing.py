"""A per-epoch timer shared by the benchmarks."""

import time

import keras


class EpochTimer(keras.callbacks.Callback):
    """Records each epoch's wall seconds and the process's CPU seconds over it.

    ``epochs`` holds ``(wall, cpu)`` pairs; ``cpu / wall`` near 2 on a 2-core machine means the
    epoch kept both cores busy. ``seconds`` lists the wall times alone.
    """

    def __init__(self):
        super().__init__()
        self.epochs = []

    def on_epoch_begin(self, epoch, logs=None):
        self.start = (time.perf_counter(), time.process_time())

    def on_epoch_end(self, epoch, logs=None):
        wall, cpu = time.perf_counter(), time.process_time()
        self.epochs.append((wall - self.start[0], cpu - self.start[1]))

    @property
    def seconds(self):
        return [wall for wall, _ in self.epochs]
