"""Screening levers for the defaults (issue 31) on the splits of ``per_task_quality.py``.

Each lever is a named change to the estimator -- parameters, or a patch of its
internals for a choice that is not (yet) a parameter -- fitted in the
``shared`` mode of ``per_task_quality.py`` on the same data sets, seeds and
splits. Results go to ``benchmarks/results/levers.jsonl``; ``--compare``
prints, per task, each lever minus ``base`` (the current defaults, run in the
same session of the package) as mean ± standard error of the paired
differences over the seeds, and per lever the mean difference and its fit
time against ``base``. A configuration already in the results for a data set
and seed is not run again: after a change to the package, run ``base_now``
beside the new levers and compare with ``--base base_now``. Run from the
repository root, one thread::

    nice -n 10 python benchmarks/levers.py --levers base beta2 --datasets college auto
    python benchmarks/levers.py --compare
    python benchmarks/levers.py --compare --base base_now
"""

import os

for _name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse  # noqa: E402
import functools  # noqa: E402
from collections import defaultdict  # noqa: E402

import datasets  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import per_task_quality  # noqa: E402
import references  # noqa: E402
import torch  # noqa: E402

OUT = references.RESULTS / "levers.jsonl"

#: The data sets below 10,000 training rows, where the levers are screened first.
SMALL = [
    "penguins", "auto", "college", "oj", "creditcard", "medpar", "wage", "nmes1988",
    "bikeshare",
]


def _adam_betas(beta2):
    import sklearn_mtl._training._fit as fit

    engine_params = fit._engine_params

    def patched(settings, seed, weights, extra_callbacks=()):
        params = engine_params(settings, seed, weights, extra_callbacks)
        params["optimizer__betas"] = (0.9, beta2)
        return params

    fit._engine_params = patched


def skewed_columns(X):
    """The columns of the DataFrame ``X`` that log_skewed takes log1p of.

    Numeric, not bool, non-negative (NaN left out), more than two distinct
    values and a skewness above 1: the package's rule
    (``sklearn_mtl._features._statistics.skewed_columns``) on a DataFrame.
    """
    skewed = []
    for column in X.columns:
        values = X[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        v = values.dropna().to_numpy(dtype=float)
        if len(np.unique(v)) <= 2 or v.min() < 0:
            continue
        if ((v - v.mean()) ** 3).mean() / max(v.std(), 1e-12) ** 3 > 1.0:
            skewed.append(column)
    return skewed


def logs_of(X, columns):
    """log1p of ``columns`` of ``X``, a negative value read as 0."""
    return np.log1p(X[columns].astype(float).clip(lower=0))


def _log_skewed(load):
    """``datasets.load`` with log1p on non-negative, skewed numeric feature columns."""

    def patched(name, seed):
        X, Y, Xt, Yt, tasks = load(name, seed)
        columns = skewed_columns(X)
        X, Xt = X.copy(), Xt.copy()
        X[columns], Xt[columns] = logs_of(X, columns), logs_of(Xt, columns)
        return X, Y, Xt, Yt, tasks

    return patched


def _log_skewed_extra(load):
    """``datasets.load`` with log1p of log_skewed's columns added beside them, not instead."""

    def patched(name, seed):
        X, Y, Xt, Yt, tasks = load(name, seed)
        columns = skewed_columns(X)
        X = pd.concat([X, logs_of(X, columns).add_suffix("_log1p")], axis=1)
        Xt = pd.concat([Xt, logs_of(Xt, columns).add_suffix("_log1p")], axis=1)
        return X, Y, Xt, Yt, tasks

    return patched


def repeated_columns(X, min_rows=5, share=0.5):
    """The numeric columns of ``X`` whose values repeat (engine sizes, model years, prices).

    Those of more than two values, at least ``share`` of whose rows (missing
    values aside) hold a value that ``min_rows`` rows or more share.
    """
    repeated = []
    for column in X.columns:
        values = X[column]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            continue
        counts = values.value_counts(dropna=True)
        if len(counts) > 2 and counts[counts >= min_rows].sum() >= share * counts.sum():
            repeated.append(column)
    return repeated


def _repeated_as_category(load):
    """``datasets.load`` with a categorical copy of each :func:`repeated_columns` column.

    The copy's categories are the values of fit (a value fit never saw reads
    as unknown), so that the network can learn each frequent value on its own,
    as a tree's splits on both sides of it do.
    """

    def patched(name, seed):
        X, Y, Xt, Yt, tasks = load(name, seed)
        columns = repeated_columns(X)
        X, Xt = X.copy(), Xt.copy()
        for column in columns:
            dtype = pd.CategoricalDtype(np.unique(X[column].dropna()))
            X[f"{column}_value"] = X[column].astype(dtype)
            Xt[f"{column}_value"] = Xt[column].astype(dtype)
        return X, Y, Xt, Yt, tasks

    return patched


def _frequency_scale(scale):
    """The default embedding's periodic frequencies log-spaced over ``scale``."""
    from sklearn_mtl.embeddings import MixedEmbedding

    MixedEmbedding.__init__.__kwdefaults__["frequency_scale"] = scale


def _robust_smooth():
    import raw_features

    raw_features.apply_variant({"robust": 1.0, "smooth": 3.0}, None, None)


def _bagged(n_members, validation_fraction, folds=False):
    """Fit ``n_members`` estimators, each validated on its own share, and average.

    What RealMLP's ``n_cv`` and AutoGluon's bagging do. With ``folds`` the
    shares are those of a shuffled ``KFold`` of ``n_members`` folds seeded by
    ``random_state`` (member i trains on the other folds and stops early on
    fold i: :func:`_kfold_split`); without, each member draws its own random
    ``validation_fraction``. Either way every row trains most members, and the
    average of the members is an ensemble. Classifiers average probabilities.
    """
    import sklearn_mtl

    estimator = sklearn_mtl.MultiTaskEstimator
    fold_of_fit = _kfold_split() if folds else None

    class Bagged:
        def __init__(self, random_state=0, **params):
            self.random_state = random_state
            self.members = [
                estimator(random_state=random_state * 100 + i,
                          validation_fraction=validation_fraction, **params)
                for i in range(n_members)
            ]

        def fit(self, X, Y):
            for i, member in enumerate(self.members):
                if fold_of_fit is not None:
                    fold_of_fit.update(fold=i, n_folds=n_members, seed=self.random_state)
                member.fit(X, Y)
            first = self.members[0]
            self.classes_, self.tasks_ = first.classes_, first.tasks_
            self.n_epochs_ = int(np.mean([m.n_epochs_ for m in self.members]))
            return self

        def predict_proba(self, X):
            probas = [m.predict_proba(X) for m in self.members]
            return {t: np.mean([np.asarray(p[t]) for p in probas], axis=0) for t in probas[0]}

        def predict(self, X):
            preds = [m.predict(X) for m in self.members]
            proba = self.predict_proba(X) if hasattr(self.members[0], "predict_proba") else {}
            out = {}
            for t in self.tasks_:
                if t in proba:
                    out[t] = np.asarray(self.classes_[t])[np.argmax(proba[t], axis=1)]
                else:
                    out[t] = np.mean([np.asarray(p[t], dtype=float) for p in preds], axis=0)
            return out

    sklearn_mtl.MultiTaskEstimator = Bagged


def _kfold_split():
    """Early stopping on one fold of a shuffled ``KFold`` instead of a random share.

    The estimator takes no explicit validation rows, so the fit's ``RandomSplit``
    is patched: its rows are those of fold ``fold`` of ``n_folds`` (seeded by
    ``seed``) of the returned dict, which the caller sets before each fit. Every
    user of the split (the engine, the labelled-rows check, the progress report)
    reads it through ``rows``, so they all see the fold.
    """
    from sklearn.model_selection import KFold

    import sklearn_mtl._training._fit as fit

    current = {}

    class KFoldSplit(fit.RandomSplit):
        def rows(self, n):
            splits = KFold(current["n_folds"], shuffle=True, random_state=current["seed"])
            train, valid = list(splits.split(np.arange(n)))[current["fold"]]
            return np.sort(train), np.sort(valid)

    fit.RandomSplit = KFoldSplit
    return current


def _quantile_normal(load, max_rows=1000):
    """``datasets.load`` with numeric feature columns mapped to normal quantiles.

    Below ``max_rows`` training rows, scikit-learn's ``QuantileTransformer(
    output_distribution="normal")`` for each numeric column of more than two
    values, as TabM's examples prepare inputs: fitted on the training rows plus
    noise of 1e-5 standard deviations (without it, the many rows tied at a
    discrete column's smallest value all map to -5.2), with ``n_quantiles`` the
    rows over 30 within [10, 1000]; NaN kept, the test rows transformed alike.
    """
    from sklearn.preprocessing import QuantileTransformer

    def patched(name, seed):
        X, Y, Xt, Yt, tasks = load(name, seed)
        if len(X) >= max_rows:
            return X, Y, Xt, Yt, tasks
        X, Xt = X.copy(), Xt.copy()
        noise = np.random.default_rng(seed)
        for column in X.columns:
            values = X[column]
            if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
                continue
            if values.dropna().nunique() <= 2:
                continue
            train = X[[column]].to_numpy(dtype=float)
            quantiles = QuantileTransformer(
                n_quantiles=max(min(len(X) // 30, 1000), 10), output_distribution="normal",
                subsample=None, random_state=0,
            ).fit(train + noise.normal(0.0, 1e-5 * np.nanstd(train), train.shape))
            X[column] = quantiles.transform(train)[:, 0]
            Xt[column] = quantiles.transform(Xt[[column]].to_numpy(dtype=float))[:, 0]
        return X, Y, Xt, Yt, tasks

    return patched


def _member_scaling(init):
    """Ensemble members' input scalings initialised with ``init`` ("ones", "normal")."""
    import tabm

    import sklearn_mtl._training._fit as fit
    from sklearn_mtl._nn._ensemble import MemberInputs

    class Patched(MemberInputs):
        def __init__(self, k, feature_widths, scaling_init):
            super().__init__(k, feature_widths, scaling_init)
            self.scaling = tabm.ElementwiseAffine(
                (k, sum(feature_widths)), bias=False, scaling_init=init,
                scaling_init_chunks=None if init == "ones" else list(feature_widths),
            )

    fit.MemberInputs = Patched


def _embed_discrete_only(max_values=48):
    """The numeric embedding on the discrete columns alone; the others logged if skewed.

    A column with 3 to ``max_values`` distinct values in fit is embedded; every
    other one enters as the estimator gives a column without an embedding
    (scaled, and logged if non-negative and skewed).
    """
    def discrete(self, z):
        counts = [len(torch.unique(z[:, j])) for j in range(z.shape[1])]
        return [j for j, count in enumerate(counts) if 2 < count <= max_values]

    _log_skewed_always()
    _embed_only(discrete)


def _embed_only(columns, beside=False):
    """``NumericInputs.embed`` restricted to the columns ``columns(inputs, z)`` picks.

    ``z`` holds the standardised numeric columns of fit, their logs after
    them; the columns not picked enter as they are, and with ``beside`` every
    column does, the picked ones beside their embeddings.
    """
    from sklearn_mtl._nn import _inputs

    def embed(self, embedding, values):
        with torch.no_grad():
            x = self._with_logs(torch.as_tensor(values, dtype=torch.float32))
            z = self._standardise(x, training=False)
        varying = columns(self, z)
        if not varying:
            return
        plain = [j for j in range(z.shape[1]) if beside or j not in varying]
        if plain:
            self.embedded, self.plain = _inputs._long(varying), _inputs._long(plain)
        self.embedding = embedding.build(z[:, varying])
        width = embedding.out_features(1)
        self.feature_widths[: z.shape[1]] = [width] * len(varying) + [1] * len(plain)
        self.out_features = sum(self.feature_widths)

    _inputs.NumericInputs.embed = embed


#: Lever name -> (estimator parameters, patch applied before fitting, or None).
LEVERS = {
    "base": ({}, None),
    # The defaults again, at a later commit: the base of the levers run beside it.
    "base_now": ({}, None),
    "beta2": ({}, lambda: _adam_betas(0.95)),
    "pwl": ({"numeric_embedding": "piecewise_linear"}, None),
    "periodic": ({"numeric_embedding": "periodic"}, None),
    "mixed": ({"numeric_embedding": "mixed"}, None),
    "log_skewed": ({}, lambda: setattr(datasets, "load", _log_skewed(datasets.load))),
    "robust_smooth": ({}, _robust_smooth),
    "per_task_es": ({"early_stopping": "per_task"}, None),
    "ensemble3": ({"ensemble_size": 3}, None),
    # Recorded with the former "auto" (every column over 64 categories); "auto" is
    # now the default, with the rule of _features._target_statistics.
    "target_encoding": ({"target_encoding": "auto"}, None),
    "patience8": ({"n_iter_no_change": 8}, None),
    "bag5": ({}, lambda: _bagged(5, 0.2)),
    "heads32": ({"head_hidden_sizes": (32,)}, None),
    "cosine": ({"lr_schedule": "cosine"}, None),
    "cosine_all_epochs": ({"lr_schedule": "cosine", "early_stopping": False}, None),
    "lr1e3": ({"lr": 1e-3}, None),
    "ens3_ones": ({"ensemble_size": 3}, lambda: _member_scaling("ones")),
    "ens3_normal": ({"ensemble_size": 3}, lambda: _member_scaling("normal")),
    # The defaults again on 2026-12-06, beside the levers below (base_now holds an
    # earlier commit's runs of these data sets and seeds).
    "base_1206": ({}, None),
    # bag5 again, beside base_1206 and the k-fold bagging.
    "bag5_1206": ({}, lambda: _bagged(5, 0.2)),
    # Cross-fit bagging: member i trains on 4 of 5 (2 of 3) folds, stops on the fifth.
    "bag5_kfold": ({}, lambda: _bagged(5, 0.2, folds=True)),
    "bag3_kfold": ({}, lambda: _bagged(3, 1 / 3, folds=True)),
    # Numeric columns to normal quantiles (fitted on the training rows) below 1,000 rows.
    "quantile": ({}, lambda: setattr(datasets, "load", _quantile_normal(datasets.load))),
    # Dropout 0 and 0.2, not 0.1 (below 1,000 rows); weight decay 1e-2 and 1e-1, not 3e-4.
    "dropout0": ({"dropout": 0.0}, None),
    "dropout02": ({"dropout": 0.2}, None),
    "wd1e2": ({"weight_decay": 1e-2}, None),
    "wd1e1": ({"weight_decay": 1e-1}, None),
    # bag5 with dropout 0.2 (are the two gains additive?), and with 10 members.
    "bag5_dropout02": ({"dropout": 0.2}, lambda: _bagged(5, 0.2)),
    "bag10": ({}, lambda: _bagged(10, 0.2)),
    # bag5 with log_skewed's inputs, and with 3 ensemble members in each fit.
    "bag5_log_skewed": (
        {}, lambda: (setattr(datasets, "load", _log_skewed(datasets.load)), _bagged(5, 0.2))
    ),
    "bag5_ens3": ({"ensemble_size": 3}, lambda: _bagged(5, 0.2)),
    # The estimator's own bagging (n_bags: each bag's validation_fraction is 0.1),
    # beside the defaults at the same commit.
    "base_bags": ({}, None),
    "n_bags3": ({"n_bags": 3}, None),
    "n_bags5": ({"n_bags": 5}, None),
    # With n_bags="auto" the default (five bags below 1,000 rows): the defaults at that
    # commit, and the two input levers that helped unbagged fits, now on bagged ones.
    "base_bagged": ({}, None),
    "bags_pwl": ({"numeric_embedding": "piecewise_linear"}, None),
    "bags_log_skewed": ({}, lambda: setattr(datasets, "load", _log_skewed(datasets.load))),
    # The piecewise-linear embedding on log_skewed's inputs.
    "bags_pwl_log_skewed": (
        {"numeric_embedding": "piecewise_linear"},
        lambda: setattr(datasets, "load", _log_skewed(datasets.load)),
    ),
    # log_skewed's rule inside the package (the input layer takes log1p of
    # non-negative columns skewed above 1): the defaults after that change.
    "base_log_rule": ({}, None),
    # Below 1,000 rows: the piecewise-linear embedding on columns of 3 to 48 values
    # only (auto's cylinders and year), the other columns as the defaults give them.
    "pwl_discrete": ({"numeric_embedding": "piecewise_linear"}, _embed_discrete_only),
    # The larger data sets where a task does better alone (movies rating, diamonds
    # cut): a 32-unit layer in each head, beside base_log_rule at the same commit.
    "heads32_now": ({"head_hidden_sizes": (32,)}, None),
    # movies rating, 0.012 below CatBoost: a longer patience, a lower learning rate.
    "patience20_now": ({"n_iter_no_change": 20}, None),
    "lr1e3_now": ({"lr": 1e-3}, None),
    # log_skewed's columns added beside the raw ones rather than replacing them, on
    # the package before the log rule (run with PYTHONPATH at commit 5bad490): beside
    # base_bagged and bags_log_skewed.
    "bags_log_extra": ({}, lambda: setattr(datasets, "load", _log_skewed_extra(datasets.load))),
    # That form inside the package (the log beside the column): the defaults after it.
    "base_log_extra": ({}, None),
    # The same with a skewness threshold of 2, not 1 (fewer columns logged).
    "log_extra_skew2": ({}, lambda: setattr(_statistics(), "SKEWNESS", 2.0)),
    # The piecewise-linear embedding with fewer bins below 1,000 rows: bags_pwl (48
    # bins) gained auto origin 0.035 and lost the college counts up to 0.016; fewer
    # bins overfit less on a few hundred rows (beside base_log_extra).
    "pwl8": ({"numeric_embedding": "piecewise_linear"}, lambda: _pwl_bins(8)),
    "pwl16": ({"numeric_embedding": "piecewise_linear"}, lambda: _pwl_bins(16)),
    # The tasks that do better alone (movies rating, diamonds cut, nmes1988 visits):
    # each task stopped at its own best epoch, a dynamic weighting, a wider trunk
    # (beside base_log_rule on the larger sets, base_log_extra on the small ones).
    "per_task_es_now": ({"early_stopping": "per_task"}, None),
    "uncertainty_now": ({"weighting": "uncertainty"}, None),
    "famo_now": ({"weighting": "famo"}, None),
    "wide256_now": ({"hidden_layer_sizes": (256, 256)}, None),
    # Below 1,000 rows, bags 2 and 4 of the five with the piecewise-linear embedding,
    # the others without: an ensemble of both inputs, rather than a choice.
    "bags_alternate_pwl": ({}, lambda: _alternate_pwl_bags()),
    # Bags 1, 3 and 5 with it (the first bag too), 2 and 4 without.
    "bags_alternate_pwl3": ({}, lambda: _alternate_pwl_bags(first=True)),
    # Each task's loss divided by that of its best constant prediction on the
    # training rows, so that the fit minimises the sum of 1 - D^2 over the tasks
    # (movies' votes, a skewed count, has a deviance far above rating's error).
    "null_normalised": ({}, lambda: _null_normalised()),
    # The same for count tasks only: a standardised regression's error is 1 at the
    # mean, but counts divided by their mean keep a deviance that grows with their skew.
    "count_null": ({}, lambda: _null_normalised(kinds=("count",))),
    # Early stopping's patience 10 epochs, not 4 (before the plateau schedule's one
    # division of the learning rate too): on Ecdat's Computers, outside this
    # benchmark (outside_tables.py), it raised price's R^2 by 0.019 (3 seeds).
    "patience10_now": ({"n_iter_no_change": 10}, None),
    # The defaults again (2026-12-07, a fifth session, a faster AMD EPYC machine),
    # for the fit times of the levers below, which ran there.
    "base_1207d": ({}, None),
    # Early stopping from the first epochs, not only after 500 optimiser steps
    # (_callbacks.MIN_STEPS, set before the bags, dropout and the plateau
    # schedule of small data): the small data sets stop at that floor, their
    # best epoch often far before it (Carseats: 5-7 of 57 epochs).
    "min_steps0": ({}, lambda: setattr(_callbacks(), "MIN_STEPS", 0)),
    "min_steps200": ({}, lambda: setattr(_callbacks(), "MIN_STEPS", 200)),
    "min_steps1000": ({}, lambda: setattr(_callbacks(), "MIN_STEPS", 1000)),
    # Patience counted on the trend as well: an epoch counts as improving when the
    # validation loss reaches a new best or its exponential moving average (this
    # weight on the newest epoch) does. On Computers (outside_tables.py) the loss
    # falls for 100 epochs under jumps of 0.05, and patience 4 stops it at 22.
    "smoothed_patience": ({}, lambda: _smoothed_patience(0.3)),
    # Validation, early stopping and predict on an exponential moving average of
    # the weights (Polyak averaging; this decay per optimiser step): a smoother
    # validation loss (Computers' jumps of 0.05) and a flatter solution on small data.
    "ema99": ({}, lambda: _weight_average(0.99)),
    "ema999": ({}, lambda: _weight_average(0.999)),
    # Tasks grouped by their lookahead affinity measured in the first epochs
    # (a task that does better alone, as movies rating, then trains alone).
    "task_groups_auto": ({"task_groups": "auto"}, None),
    # Per task, the five default bags or five with the piecewise-linear embedding,
    # by their summed validation losses (twice the fit).
    "bags_select_pwl": ({}, lambda: _select_pwl_bags()),
    "bags_blend_pwl": ({}, lambda: _select_pwl_bags(select=False)),
    "bags_select_pwl_model": ({}, lambda: _select_pwl_bags(per_task=False)),
    # The piecewise-linear embedding on the columns the log rule does not log.
    "pwl_unlogged": ({"numeric_embedding": "piecewise_linear"}, lambda: _pwl_unlogged()),
    # From 1,000 rows: the skewed columns' logs beside them, embedded like the others.
    "log_extra_embedded": ({}, lambda: _log_skewed_always()),
    # The defaults on 2026-12-07 (after the summed training step), beside the levers below.
    "base_1207": ({}, None),
    # Label smoothing of 0.1 (RealMLP's default for classification), in training
    # and in the validation loss that early stopping reads: every classification
    # task, and the multiclass ones only (accuracy; smoothing a binary AUC task
    # changes no ranking on its own).
    "label_smoothing": ({}, lambda: _label_smoothing(0.1)),
    "label_smoothing_mc": ({}, lambda: _label_smoothing(0.1, binary=False)),
    # Other activations (RealMLP: SELU for classification, Mish for regression), and
    # parametric ones, x + alpha (f(x) - x) with alpha per unit from 1 (RealMLP's).
    "silu": ({"activation": "silu"}, None),
    "pact_relu": ({}, lambda: _parametric_activation("relu")),
    "pact_silu": ({}, lambda: _parametric_activation("silu")),
    # auto origin, 0.039 below LightGBM, leans on sharp thresholds (SiLU lost 0.035
    # there): a larger learning rate, smaller batches, a wider or deeper trunk, no
    # weight decay (screened on auto first, then on the other small data sets).
    "lr1e2": ({"lr": 1e-2}, None),
    "batch16": ({"batch_size": 16}, None),
    "wide256": ({"hidden_layer_sizes": (256, 256)}, None),
    "deep3": ({"hidden_layer_sizes": (128, 128, 128)}, None),
    "wd0": ({"weight_decay": 0.0}, None),
    # The piecewise-linear embedding on target-aware bins (Gorishniy et al. 2022):
    # each column's edges are the thresholds of a tree grown on it against every
    # task's standardised target at once, with leaves of at least 20 (8) rows.
    "pwl_tree20": ({"numeric_embedding": "piecewise_linear"}, lambda: _tree_bins(20)),
    "pwl_tree8": ({"numeric_embedding": "piecewise_linear"}, lambda: _tree_bins(8)),
    # movies rating, 0.012 below CatBoost and 0.006 better alone: the other weighting
    # strategies (FAMO and uncertainty weighting ran as famo_now, uncertainty_now).
    **{
        f"{name}_1207": ({"weighting": name}, None)
        for name in ("dwa", "rlw", "gradnorm", "db_mtl", "pcgrad", "imtl", "aligned_mtl", "nash")
    },
    # The balancing strategies lift movies rating but cost nmes1988 novisits (a
    # near-noise count): each with per-task early stopping, which keeps every
    # task's best epoch; beside the defaults rerun on the same machine.
    "base_1207b": ({}, None),
    **{
        f"{name}_pte": ({"weighting": name, "early_stopping": "per_task"}, None)
        for name in ("imtl", "aligned_mtl", "famo")
    },
    # auto origin gained 0.035 from the 48-bin piecewise-linear embedding with
    # bags before the logs of skewed columns became a default: the same on today's.
    "pwl_1207b": ({"numeric_embedding": "piecewise_linear"}, None),
    # The 48-bin embedding costs college's counts (Enroll -0.016) what it gives
    # auto origin: the same with each embedded column's scaled value beside its
    # embedding, a linear path the counts' log-linear trends can take.
    "pwl_skip": ({"numeric_embedding": "piecewise_linear"}, lambda: _embed_with_skip()),
    # The defaults and the 48-bin embedding again, beside the two above (2026-12-07,
    # a later session on an AMD EPYC machine), for their fit times.
    "base_1207c": ({}, None),
    "pwl_1207c": ({"numeric_embedding": "piecewise_linear"}, None),
    # movies rating, 0.012 below CatBoost: more members (TabM's own default is 32),
    # and batches of 256 from 16,384 rows (where "auto" gives 512).
    "ensemble8": ({"ensemble_size": 8}, None),
    "batch256": ({"batch_size": 256}, None),
    # The same with the logs of skewed columns beside them (embedded, and as they are).
    "pwl_skip_log": (
        {"numeric_embedding": "piecewise_linear"},
        lambda: (_log_skewed_always(), _embed_with_skip()),
    ),
    # auto origin: trees tell makers apart by their exact engine sizes. Numeric
    # columns whose values repeat also as categories (one-hot, pooled below
    # min_frequency rows), beside the columns.
    "repeated_cat": ({}, lambda: setattr(datasets, "load", _repeated_as_category(datasets.load))),
    # movies rating: the periodic embedding's highest frequency 3, not 10 (the
    # mixed embedding's continuous columns; on 1,000 rows or more, where "auto" embeds).
    "freq3": ({}, lambda: _frequency_scale((0.1, 3.0))),
    # Two bags from 1,000 rows too (three raised movies rating by 0.003, 2026-12-06).
    "bags2": ({"n_bags": 2}, None),
}


def _tree_bins(min_leaf):
    """The piecewise-linear embedding's bins from one multi-output tree per column.

    ``train`` keeps the fit's targets (each task's columns standardised over
    its labelled rows, a multiclass task one-hot, 0 where unlabelled) at the
    rows the embedding learns from; each column's edges are then its
    smallest and largest values and the thresholds of a
    ``DecisionTreeRegressor(max_leaf_nodes=n_bins, min_samples_leaf=min_leaf)``
    fitted on it against them all. A screen: the validation rows' targets
    shape the bins too.
    """
    from sklearn.tree import DecisionTreeRegressor

    from sklearn_mtl._features._statistics import statistics_rows
    from sklearn_mtl._tasks._classification import MulticlassTask
    from sklearn_mtl._training import _fit
    from sklearn_mtl.embeddings import piecewise_linear

    kept = {}
    train = _fit.train

    def keeping_targets(settings, X, layout, encoded, weights, extra_callbacks=()):
        columns = []
        for name, task in encoded.tasks.items():
            y, labelled = encoded.y[:, encoded.slices[name]], encoded.mask[:, encoded.slices[name]]
            if isinstance(task, MulticlassTask):
                y = np.eye(task.n_outputs)[y[:, 0].astype(int)]
                labelled = np.repeat(labelled[:, :1], y.shape[1], axis=1)
            for j in range(y.shape[1]):
                values, rows = y[:, j].astype(float), labelled[:, j]
                spread = values[rows].std() or 1.0
                columns.append(np.where(rows, (values - values[rows].mean()) / spread, 0.0))
        kept["Y"] = np.column_stack(columns)[statistics_rows(len(encoded.y))]
        return train(settings, X, layout, encoded, weights, extra_callbacks)

    def tree_bins(values, n_bins):
        bins = []
        for j in range(values.shape[1]):
            x = values[:, j].double().numpy()
            tree = DecisionTreeRegressor(
                max_leaf_nodes=n_bins, min_samples_leaf=min_leaf, random_state=0
            ).fit(x[:, None], kept["Y"])
            thresholds = tree.tree_.threshold[tree.tree_.feature >= 0]
            edges = np.unique(np.concatenate([[x.min(), x.max()], thresholds]).astype(np.float32))
            bins.append(torch.tensor(edges if len(edges) > 1 else [-1.0, 1.0]))
        return bins

    _fit.train = keeping_targets
    piecewise_linear.quantile_bins = tree_bins


def _parametric_activation(name):
    """Each hidden activation ``f`` as ``x + alpha * (f(x) - x)``, alpha learned per unit."""
    import torch
    from torch import nn

    from sklearn_mtl._nn import _network

    base = {"relu": nn.ReLU, "silu": nn.SiLU}[name]  # not in place: x is read again

    class Parametric(nn.Module):
        def __init__(self, width):
            super().__init__()
            self.activation = base()
            self.alpha = nn.Parameter(torch.ones(width))

        def forward(self, x):
            return x + self.alpha * (self.activation(x) - x)

    def hidden_blocks(n_inputs, hidden_sizes, activation="relu", dropout=0.0, linear=nn.Linear):
        blocks = []
        for size in hidden_sizes:
            block = [linear(n_inputs, size), Parametric(size)]
            if dropout > 0:
                block.append(nn.Dropout(dropout))
            blocks.append(block)
            n_inputs = size
        return blocks, n_inputs

    _network.hidden_blocks = hidden_blocks


def _label_smoothing(epsilon, binary=True):
    """Cross-entropy against targets smoothed by ``epsilon`` towards the uniform."""
    from torch.nn import functional as F

    from sklearn_mtl._tasks._classification import BinaryTask, MulticlassTask

    def multiclass(output, target, reduction="mean"):
        return F.cross_entropy(output, target.long(), label_smoothing=epsilon, reduction=reduction)

    MulticlassTask.loss = lambda self, output, target: multiclass(output, target, "none")
    MulticlassTask.mean_loss = lambda self, output, target: multiclass(output, target)
    if binary:

        def smoothed(output, target, reduction="mean"):
            target = target * (1 - epsilon) + epsilon / 2
            return F.binary_cross_entropy_with_logits(output[:, 0], target, reduction=reduction)

        BinaryTask.loss = lambda self, output, target: smoothed(output, target, "none")
        BinaryTask.mean_loss = lambda self, output, target: smoothed(output, target)


def _pwl_bins(n_bins):
    """``numeric_embedding="piecewise_linear"`` builds the embedding with ``n_bins`` bins."""
    from sklearn_mtl import embeddings

    embeddings.EMBEDDINGS["piecewise_linear"] = functools.partial(
        embeddings.PiecewiseLinearEmbedding, n_bins
    )


def _alternate_pwl_bags(first=False):
    """Every second bag of ``train_bags`` with the piecewise-linear embedding.

    Bags 2, 4, ... (``first=False``) or 1, 3, 5, ... (``first=True``).
    """
    import dataclasses

    from sklearn_mtl import _estimator
    from sklearn_mtl._training import _fit
    from sklearn_mtl.embeddings import PiecewiseLinearEmbedding

    def train_bags(settings, X, layout, encoded, weights):
        nets = []
        for bag in range(settings.n_bags):
            with_pwl = bag % 2 != first and settings.n_bags > 1
            embedding = PiecewiseLinearEmbedding() if with_pwl else settings.numeric_embedding
            bag_settings = dataclasses.replace(
                _fit.bag_settings(settings, bag), numeric_embedding=embedding
            )
            nets.append(_fit.train_groups(bag_settings, X, layout, encoded, weights))
        return nets

    _estimator.train_bags = train_bags


def _select_pwl_bags(select=True, per_task=True):
    """Each task's bags chosen between the default embedding and the piecewise-linear one.

    ``train_bags`` trains its bags twice from the same seeds (so on the same
    validation rows), once as set and once with the piecewise-linear
    embedding; each task then predicts with the five whose validation losses
    (each bag's own held-out rows, at the epoch early stopping restored) sum
    lower (``select=False``: every task predicts with all ten;
    ``per_task=False``: one choice for every task, the embedded bags if the
    tasks' validation losses fall with them on average, relative to the
    plain bags'). Twice the fit; without bags or early stopping the bags as
    set.
    """
    import dataclasses

    from sklearn.base import clone

    from sklearn_mtl import _estimator, _predictor
    from sklearn_mtl._training import _fit
    from sklearn_mtl.embeddings import PiecewiseLinearEmbedding

    def validation_losses(net):
        best = net.best_epochs()
        if not best or None in best.values():
            return None
        return {name: net.history[epoch - 1][f"valid_loss_{name}"] for name, epoch in best.items()}

    def train_bags(settings, X, layout, encoded, weights):
        bags = [_fit.bag_settings(settings, bag) for bag in range(settings.n_bags)]
        plain = [_fit.train_groups(bag, X, layout, encoded, weights) for bag in bags]
        if settings.n_bags == 1 or validation_losses(plain[0]) is None:
            return plain
        embedded = [
            _fit.train_groups(
                dataclasses.replace(
                    bag,
                    numeric_embedding=PiecewiseLinearEmbedding(),
                    weighting=clone(bag.weighting),
                ),
                X,
                layout,
                encoded,
                weights,
            )
            for bag in bags
        ]
        if not select:
            return plain + embedded
        totals = {
            name: [sum(validation_losses(net)[name] for net in nets) for nets in (plain, embedded)]
            for name in encoded.names
        }
        if not per_task:
            change = sum(b / a - 1 for a, b in totals.values() if a > 0)
            return embedded if change < 0 else plain
        for net in plain + embedded:
            net.serves_ = set()
        for name, (a, b) in totals.items():
            for net in plain if a <= b else embedded:
                net.serves_.add(name)
        return plain + embedded

    task_states = _predictor.Predictor.task_states

    def served_task_states(self, tasks=None, bag=0):
        triples = task_states(self, tasks, bag)
        serves = getattr(self.nets[bag], "serves_", None)
        if serves is None:
            return triples
        kept = [
            (epoch, state, [n for n in names if n in serves]) for epoch, state, names in triples
        ]
        return [triple for triple in kept if triple[2]]

    _predictor.Predictor.task_states = served_task_states
    _estimator.train_bags = train_bags


def _pwl_unlogged():
    """The piecewise-linear embedding on the columns the log rule leaves alone.

    The skewed non-negative columns get their ``log1p`` beside them, as
    without an embedding, and neither they nor their logs are embedded; the
    other columns of more than two values are.
    """
    def unlogged(self, z):
        logged = [] if self.logged is None else self.logged.tolist()
        skip = set(logged) | set(range(z.shape[1] - len(logged), z.shape[1]))
        return [j for j in range(z.shape[1]) if j not in skip and len(torch.unique(z[:, j])) > 2]

    _log_skewed_always()
    _embed_only(unlogged)


def _embed_with_skip():
    """The numeric embedding on every column of more than two values, each also as it is.

    The embedded columns' scaled values (and logs) enter beside their
    embeddings, as the columns of two values do without one.
    """
    def varying(self, z):
        return [j for j in range(z.shape[1]) if len(torch.unique(z[:, j])) > 2]

    _embed_only(varying, beside=True)


def _log_skewed_always():
    """The log rule's ``log1p`` beside the skewed columns with an embedding too (then embedded)."""
    from sklearn_mtl._features import _encoder

    statistics = _encoder.numeric_statistics
    _encoder.numeric_statistics = lambda *args, log_skewed=False: statistics(
        *args, log_skewed=True
    )


def _null_normalised(kinds=None):
    """Task weights divided by each task's loss at its best constant output (fit by L-BFGS).

    ``kinds``: the task types (``"count"``, ...) whose weights are divided; None, all.
    """
    import dataclasses

    from sklearn_mtl._training import _fit

    def null_loss(task, y, mask):
        rows = mask.any(axis=1)
        target = torch.as_tensor(y[rows])
        target = target if task.two_dimensional else target[:, 0]
        constant = torch.zeros(task.n_outputs, requires_grad=True)
        optimizer = torch.optim.LBFGS([constant], max_iter=100, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = task.mean_loss(constant.expand(len(target), -1), target)
            loss.backward()
            return loss

        optimizer.step(closure)
        with torch.no_grad():
            return float(task.mean_loss(constant.expand(len(target), -1), target))

    train = _fit.train

    def normalised(settings, X, layout, encoded, weights, extra_callbacks=()):
        columns = encoded.slices
        nulls = [
            null_loss(task, encoded.y[:, columns[name]], encoded.mask[:, columns[name]])
            for name, task in encoded.tasks.items()
        ]
        divided = [kinds is None or task.type_name in kinds for task in encoded.tasks.values()]
        task_weights = tuple(
            w / max(n, 1e-3) if d else w for w, n, d in zip(settings.task_weights, nulls, divided)
        )
        settings = dataclasses.replace(settings, task_weights=task_weights)
        return train(settings, X, layout, encoded, weights, extra_callbacks)

    _fit.train = normalised


def _smoothed_patience(alpha):
    """Joint early stopping's patience also reset by a new low of the loss's moving average."""
    callbacks = _callbacks()
    begin, improved = callbacks.EarlyStopping.on_train_begin, callbacks.EarlyStopping._improved

    def on_train_begin(self, net, **kwargs):
        begin(self, net, **kwargs)
        self.smoothed_, self.best_smoothed_ = None, np.inf

    def _improved(self, net):
        new_best = improved(self, net)
        score = net.history[-1, "valid_loss"]
        if self.smoothed_ is None:
            self.smoothed_ = score
        else:
            self.smoothed_ = (1 - alpha) * self.smoothed_ + alpha * score
        trend = self.smoothed_ < self.best_smoothed_ - self.threshold
        if trend:
            self.best_smoothed_ = self.smoothed_
        return new_best or trend

    callbacks.EarlyStopping.on_train_begin = on_train_begin
    callbacks.EarlyStopping._improved = _improved


def _weight_average(decay):
    """Validation, early stopping and predict on a moving average of the weights.

    After each optimiser step the average moves ``1 - decay`` of the way to the
    parameters; each validation pass runs on the average (kept in the network
    until the next training pass, so that early stopping keeps it as the best
    epoch's state and the fitted network ends on it).
    """
    from sklearn_mtl._training import _engine

    net_class = _engine.MultiTaskNet
    initialize, train_step = net_class.initialize, net_class.train_step
    run_single_epoch = net_class.run_single_epoch

    def initialize_(self):
        self.average_, self.raw_ = None, None
        return initialize(self)

    def train_step_(self, batch, **fit_params):
        step = train_step(self, batch, **fit_params)
        with torch.no_grad():
            params = [p.detach() for p in self.module_.parameters()]
            if self.average_ is None:
                self.average_ = [p.clone() for p in params]
            else:
                torch._foreach_lerp_(self.average_, params, 1 - decay)
        return step

    def run_single_epoch_(self, iterator, training, prefix, step_fn, **fit_params):
        params = list(self.module_.parameters())
        with torch.no_grad():
            if training and self.raw_ is not None:
                torch._foreach_copy_(params, self.raw_)
                self.raw_ = None
            elif not training and self.average_ is not None and self.raw_ is None:
                self.raw_ = [p.detach().clone() for p in params]
                torch._foreach_copy_(params, self.average_)
        return run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params)

    net_class.initialize = initialize_
    net_class.train_step = train_step_
    net_class.run_single_epoch = run_single_epoch_


def _callbacks():
    from sklearn_mtl._training import _callbacks

    return _callbacks


def _statistics():
    from sklearn_mtl._features import _statistics

    return _statistics


def run(levers, names, seeds):
    for lever in levers:
        params, patch = LEVERS[lever]
        if patch is not None:
            patch()  # each lever runs in a process of its own: see main
        per_task_quality.run(
            names, seeds, ["shared"], lever, params, str(OUT)
        )


def compare(records, base="base"):
    by = defaultdict(dict)
    for r in records:
        by[(r["config"], r["dataset"])][r["seed"]] = r
    levers = sorted({r["config"] for r in records} - {base})
    summary = {}
    for lever in levers:
        diffs, times = [], []
        if not any(by.get((lever, name)) and by.get((base, name)) for name in datasets.DATASETS):
            continue  # run on other data sets than the base
        print(f"\n{lever} minus {base}")
        for name in datasets.DATASETS:
            ours, theirs = by.get((lever, name), {}), by.get((base, name), {})
            seeds = sorted(set(ours) & set(theirs))
            if not seeds:
                continue
            for task in ours[seeds[0]]["scores"]:
                d = np.array([ours[s]["scores"][task] - theirs[s]["scores"][task] for s in seeds])
                se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
                diffs.append(d.mean())
                print(f"  {name:12s} {task:16s} {d.mean():+.4f} ± {se:.4f}  (n={len(d)})")
            times.append(np.mean([ours[s]["fit_s"] for s in seeds])
                         / np.mean([theirs[s]["fit_s"] for s in seeds]))
        summary[lever] = (np.mean(diffs), np.min(diffs), np.mean(times), len(diffs))
    print("\nlever            mean diff   worst   fit time / base   tasks")
    for lever, (mean, worst, time_ratio, n) in summary.items():
        print(f"{lever:15s}  {mean:+.4f}   {worst:+.4f}   {time_ratio:.2f}   {n}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levers", nargs="+", default=["base"], choices=list(LEVERS))
    parser.add_argument("--datasets", nargs="+", default=SMALL)
    parser.add_argument("--seeds", type=int, nargs="+")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--base", default="base", help="the configuration --compare subtracts")
    args = parser.parse_args()
    if args.compare:
        compare(references.read(str(OUT)), args.base)
        return
    if len(args.levers) > 1:  # a patch must not leak into the next lever: one process each
        import subprocess
        import sys

        for lever in args.levers:
            command = [sys.executable, __file__, "--levers", lever, "--datasets", *args.datasets]
            if args.seeds:
                command += ["--seeds", *map(str, args.seeds)]
            subprocess.run(command, check=True)
        return
    run(args.levers, args.datasets, args.seeds)


if __name__ == "__main__":
    main()
