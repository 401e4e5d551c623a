"""Malaria cell images for the course: from TFDS, from a folder, or a synthetic stand-in.

Three sources give the same arrays, with **label 1 = parasitized** everywhere:

- ``"tfds"``: ``tfds.load("malaria")`` (27,558 images; TFDS's own label 0 is *parasitized*, so
  it is flipped here). Downloads when the network allows; without it a
  :class:`DatasetUnavailableError` names the offline choices.
- a folder in the NIH layout: ``Parasitized/`` and ``Uninfected/`` subfolders of PNG files.
- ``"synthetic"``: **not real data**. A procedural stand-in (round pink "cells"; parasitized ones
  carry dark purple rings and chromatin dots) for offline demos and tests. It is learnable but not
  trivially; numbers measured on it say nothing about malaria. :func:`describe_source` returns a
  line that says so, for every output to print.

``fraction=None`` means the source's course default: 0.1 for ``"tfds"`` (the course's 10%),
1.0 for a folder and for ``"synthetic"`` (a fixed population of 2,800 images, 1,400 per class).
The share and the train/test split are both stratified and depend only on ``seed``.

Two ways to split (``split=``, the same word in :func:`load_malaria`, :func:`malaria_dataset`
and :func:`split_files`):

- ``"patient"`` (the default for a folder): whole patients go to one side. The patient is read
  from the NIH file name by :func:`patient_id`: its ``P`` number
  (``C100P61ThinF_IMG_20150918_144348_cell_138.png`` is ``"P61"``; patient 8, imaged on two
  microscopes as ``C47P8thinOriginalOlympusCX21`` and ``C47P8thin_Original_Motic``, is one
  ``"P8"``), or for uninfected-only patients without one their ``C`` prefix (``"C12"``). This
  needs file names, so only a folder source has it.
- ``"cell"`` (the course's, and the default for ``"tfds"`` and ``"synthetic"``): a stratified
  split of the cells. The NIH data set has many cells of each patient, so cells of one patient
  land on both sides and the test score is optimistic.

``return_groups=True`` gives the patient of every row, for scikit-learn's ``GroupKFold``, and
:func:`grouped_validation_split` holds out whole patients of the training side for validation.

:func:`split_files` says which files went to each side, and :func:`load_folder` loads every image
of a folder (an external test set) with its file name.

Images are decoded and resized with TensorFlow in parallel (``tf.data``), rounded to 8 bits like
the originals and scaled to [0, 1] as float32; ``dtype="uint8"`` keeps the 8 bits (a quarter of
the memory) and :func:`scale_images` scales them, or any batch of them, to the same float32
values later. ``cache_dir`` keeps the decoded 8-bit arrays as ``.npy`` files so a second load
skips decoding, and ``verbose=True`` shows the decoding's count, rate and ETA.

Modules: ``synthetic`` (the procedural cells), ``sources`` (TFDS, folder and synthetic sources,
decoding, patient ids), ``split`` (cell and patient splits, the grouped validation split),
``cache`` (the ``.npy`` cache), ``audit`` (:func:`audit_split`: patients and duplicate
images on both sides of a split) and ``loaders`` (:func:`load_malaria`, :func:`malaria_dataset`,
:func:`load_folder`).

>>> (X_train, y_train), (X_test, y_test) = load_malaria("synthetic", fraction=0.02, image_size=8)
>>> X_train.shape, X_test.shape, X_train.dtype
((44, 192), (12, 192), dtype('float32'))
>>> int(y_train.sum()), int(y_test.sum())
(22, 6)
"""

from kerasx.data.audit import SplitAudit, audit_split
from kerasx.data.loaders import load_folder, load_malaria, malaria_dataset, scale_images
from kerasx.data.sources import CLASS_NAMES, DatasetUnavailableError, describe_source, patient_id
from kerasx.data.split import grouped_validation_split, split_files
from kerasx.data.synthetic import make_synthetic_malaria

__all__ = [
    "CLASS_NAMES",
    "DatasetUnavailableError",
    "SplitAudit",
    "audit_split",
    "describe_source",
    "grouped_validation_split",
    "load_folder",
    "load_malaria",
    "make_synthetic_malaria",
    "malaria_dataset",
    "patient_id",
    "scale_images",
    "split_files",
]
