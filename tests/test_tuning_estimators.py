"""kerasx's scikit-learn classifiers (both ``wrapper=`` choices): what ``best_estimator_`` offers,
a fixed ``validation_data`` and ``groups`` through ``RandomizedSearchCV``, scikit-learn's checks.

The scikeras path runs on the installed scikit-learn (1.9 when this was written): these tests
are what would notice a release of either breaking it.
"""

import keras
import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier
from sklearn.metrics import get_scorer, roc_auc_score
from sklearn.model_selection import StratifiedKFold, check_cv
from tuning_helpers import no_training, separable_data  # noqa: F401

from kerasx.tuning import randomized_search
from kerasx.tuning.estimators import KerasMLPClassifier, make_estimator

WRAPPERS = ["keras", "scikeras"]


@pytest.fixture(scope="module")
def fitted():
    """Each wrapper fitted once on the same separable rows (3 epochs)."""
    X, y = separable_data(200)
    keras.utils.set_random_seed(0)
    return {
        wrapper: make_estimator(wrapper, epochs=3, batch_size=16).fit(X, y) for wrapper in WRAPPERS
    }


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_best_estimator_has_classes_probabilities_and_decisions(fitted, wrapper):
    """Catches the stock Keras wrapper's missing ``predict_proba`` and raw-output
    ``decision_function``, and scikeras' missing ``decision_function``; the probability scorer
    (``roc_auc``) equals scikit-learn's AUC of the positive-class probabilities."""
    estimator = fitted[wrapper]
    X, y = separable_data(120, seed=3)
    assert is_classifier(estimator) and list(estimator.classes_) == [0, 1]
    proba = estimator.predict_proba(X)
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(estimator.predict(X), estimator.classes_[proba.argmax(axis=1)])
    decision = estimator.decision_function(X)
    assert decision.shape == (120,)
    np.testing.assert_allclose(decision, np.log(proba[:, 1] / proba[:, 0]), rtol=1e-4, atol=1e-4)
    assert get_scorer("roc_auc")(estimator, X, y) == pytest.approx(roc_auc_score(y, proba[:, 1]))
    assert get_scorer("roc_auc")(estimator, X, y) > 0.8


def test_more_classes_and_text_labels():
    X, _ = separable_data(150)
    y = np.array(["low", "mid", "high"])[np.digitize(X[:, 0] + X[:, 1], [-0.5, 0.5])]
    keras.utils.set_random_seed(0)
    estimator = make_estimator("keras", epochs=3, batch_size=16).fit(X, y)
    assert list(estimator.classes_) == ["high", "low", "mid"]
    proba = estimator.predict_proba(X)
    decision = estimator.decision_function(X)
    assert proba.shape == decision.shape == (150, 3)
    np.testing.assert_array_equal(estimator.predict(X), estimator.classes_[decision.argmax(axis=1)])


def test_scikeras_is_a_classifier_to_scikit_learn():
    """scikeras 0.13's own ``KerasClassifier`` is not, for scikit-learn >= 1.6: its integer
    ``cv`` then cuts plain ``KFold`` folds (not stratified)."""
    from scikeras.wrappers import KerasClassifier

    y = np.array([0, 1] * 10)
    estimator = make_estimator("scikeras", epochs=1, batch_size=8)
    assert isinstance(check_cv(2, y, classifier=is_classifier(estimator)), StratifiedKFold)
    stock = not is_classifier(KerasClassifier(model=None))
    assert stock or sklearn.__version__ < "1.6", "scikeras fixed its tags: the subclass may go"


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_a_fixed_validation_set_through_randomized_search(wrapper, monkeypatch):
    """Every fit (each fold's and the refit) validates and stops early on the same held-out
    rows, which no fold trains on or scores; the folds keep whole patients apart.

    Catches early stopping on rows the search then scores (the leak ``validation_split`` or
    a test set as ``validation_data`` makes), and a wrapper that drops ``validation_data``
    when ``RandomizedSearchCV`` clones it."""
    X_all, y_all = separable_data(240)
    X, y, X_val, y_val = X_all[:180], y_all[:180], X_all[180:], y_all[180:]
    groups = np.arange(180) % 18
    index = {row.tobytes(): i for i, row in enumerate(X_all)}
    rows = lambda x: {index[row.tobytes()] for row in np.asarray(x, dtype=X.dtype)}  # noqa: E731
    validation_rows = set(range(180, 240))
    fits, scored = [], []
    fit = keras.Model.fit

    def spy(self, x=None, y=None, **kwargs):
        fits.append((rows(x), rows(kwargs["validation_data"][0]), kwargs["callbacks"]))
        return fit(self, x, y, **kwargs)

    def scorer(estimator, X_scored, y_scored):
        scored.append(rows(X_scored))
        return float(np.mean(estimator.predict(X_scored) == y_scored))

    monkeypatch.setattr(keras.Model, "fit", spy)
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    search = randomized_search(X, y, groups=groups, validation_data=(X_val, y_val), n_iter=1,
                               cv=2, epochs=3, wrapper=wrapper, scoring=scorer,
                               fit_kwargs={"callbacks": [stop]})  # fmt: skip
    assert len(fits) == 3 and len(scored) == 2  # two folds, then the refit
    for fitted_rows, validated, callbacks in fits:
        assert validated == validation_rows and not fitted_rows & validation_rows
        assert any(isinstance(c, keras.callbacks.EarlyStopping) for c in callbacks)
    for (fitted_rows, _, _), scored_rows in zip(fits, scored, strict=False):
        assert not scored_rows & validation_rows and not scored_rows & fitted_rows
        assert set(groups[sorted(fitted_rows)]).isdisjoint(groups[sorted(scored_rows)])
    history = search.best_estimator_.history_  # a dict (scikeras) or a History (Keras)
    assert "val_loss" in getattr(history, "history", history)


@pytest.mark.usefixtures("no_training")
def test_validation_data_is_checked_before_training():
    X, y = separable_data(20)
    with pytest.raises(
        ValueError, match=r"argument `validation_data`\. Expected an \(X_val, y_val\) pair"
    ):
        randomized_search(X, y, validation_data=X, cv=2)
    with pytest.raises(ValueError, match=r"Expected rows of the shape of X's \(\(4,\)\)"):
        randomized_search(X, y, validation_data=(X[:, :3], y), cv=2)
    with pytest.raises(ValueError, match="argument `validation_data\\[1\\]`"):
        randomized_search(X, y, validation_data=(X, y[:5]), cv=2)


def test_clones_share_the_validation_arrays():
    X, y = separable_data(20)
    estimator = make_estimator(
        "keras", epochs=1, batch_size=8, fit_kwargs={"validation_data": (X, y)}
    )
    copy = clone(estimator)
    assert copy.fit_params["validation_data"][0] is estimator.fit_params["validation_data"][0]
    assert isinstance(copy, KerasMLPClassifier)


@pytest.mark.slow
def test_the_keras_wrapper_passes_scikit_learns_checks():
    """scikit-learn's ``check_estimator`` on :class:`KerasMLPClassifier`: no check fails, and
    only the ones in :data:`kerasx.tuning.estimators.SKIPPED_CHECKS` are skipped (by
    scikit-learn itself). Measured: 53 checks, 66-140 s on 2 busy cores."""
    from sklearn.utils.estimator_checks import check_estimator

    from kerasx.tuning.estimators import SKIPPED_CHECKS

    report = check_estimator(
        make_estimator("keras", epochs=1, batch_size=32), on_fail=None, on_skip=None
    )
    failed = {r["check_name"] for r in report if r["status"] == "failed"}
    skipped = {r["check_name"] for r in report if r["status"] == "skipped"}
    assert failed == set(), failed
    assert skipped <= set(SKIPPED_CHECKS), skipped
    assert sum(r["status"] == "passed" for r in report) >= 45


def test_random_state_makes_two_fits_the_same():
    X, y = separable_data(80)
    first, second = (
        make_estimator("keras", epochs=2, batch_size=16).set_params(random_state=3).fit(X, y)
        for _ in range(2)
    )
    np.testing.assert_allclose(first.predict_proba(X), second.predict_proba(X), rtol=1e-6)
