"""The estimator's own encoding of ``X`` as ONNX operators.

:func:`encode_features` does in the graph what the feature encoder does at
predict: numeric columns keep their values (missing as NaN), each categorical
column becomes slot numbers through a string lookup table (``LabelEncoder`` of
``ai.onnx.ml``), and target statistics through one more table each, appended
as in fit. The graph takes one matrix, or one ``(batch, 1)`` input per column
of a DataFrame (strings for the categorical columns).
"""

from onnx import TensorProto

from ._inputs import MISSING_STRING, input_strings


def encode_features(scope, container, estimator, inputs):
    """Name of the float32 ``(batch, n_features)`` matrix made from ``inputs``.

    ``inputs`` are skl2onnx variables: one matrix, or one column per feature.
    Raises a ``ValueError`` naming the fix when they do not fit the estimator.
    """
    from skl2onnx.common.data_types import StringTensorType

    n_features = estimator.n_features_in_
    encoder = estimator._feature_encoder
    categorical = encoder.is_categorical_
    if len(inputs) == 1 and not isinstance(inputs[0].type, StringTensorType):
        (matrix,) = inputs
        if categorical.any():
            raise ValueError(
                "to_onnx: the estimator has categorical columns "
                f"{list(_column_names(estimator, categorical))}, which one numeric ONNX input "
                "cannot carry (categories enter a graph as strings). Exporting the estimator "
                "alone, pass X_sample as a DataFrame (one input per column); behind a "
                "Pipeline, encode those columns in its steps (e.g. a OneHotEncoder) rather "
                "than with categorical_features."
            )
        width = matrix.type.shape[1] if len(matrix.type.shape) == 2 else None
        if isinstance(width, int) and width != n_features:
            raise ValueError(
                f"to_onnx: the estimator reads {n_features} features, but its ONNX input "
                f"{matrix.onnx_name!r} has {width} columns; give X_sample as the model's "
                "predict takes it."
            )
        return _cast(scope, container, matrix.onnx_name, "features")
    if len(inputs) != n_features:
        raise ValueError(
            f"to_onnx: the estimator reads {n_features} features, but its ONNX graph gets "
            f"{len(inputs)} inputs; give X_sample with the columns of fit."
        )
    columns, strings = [], []
    slots = iter(encoder.category_slots())
    for variable, is_categorical in zip(inputs, categorical):
        is_string = isinstance(variable.type, StringTensorType)
        if is_categorical != is_string:
            kinds = ("categorical", "category or str") if is_categorical else ("numeric", "numbers")
            raise ValueError(
                f"to_onnx: column {variable.raw_name!r} is {kinds[0]} for the estimator, but "
                f"reaches it in the graph as {'strings' if is_string else 'numbers'}; give "
                f"X_sample that column as {kinds[1]}."
            )
        name = variable.onnx_name
        if is_categorical:
            strings.append(name)
            name = _slots(scope, container, name, *next(slots))
        columns.append(_cast(scope, container, name, variable.raw_name))
    for lookup in encoder.statistic_lookups():
        columns.append(_statistic(scope, container, strings[lookup.column], lookup))
    if len(columns) == 1:
        return columns[0]
    features = scope.get_unique_variable_name("features")
    container.add_node(
        "Concat", columns, [features], axis=1, name=scope.get_unique_operator_name("Concat")
    )
    return features


def _slots(scope, container, name, categories, slots, unknown, missing):
    """Slot numbers (int64) of the strings in input ``name``."""
    values = [int(s) for s in slots] + [missing]
    return _lookup(scope, container, name, "slots", categories, int64s=values, default=unknown)


def _statistic(scope, container, name, lookup):
    """Float32 target statistics (a :class:`StatisticLookup`) of the strings in input ``name``."""
    values = [float(v) for v in lookup.values] + [float(lookup.missing)]
    return _lookup(
        scope,
        container,
        name,
        "statistic",
        lookup.categories,
        floats=values,
        default=float(lookup.default),
    )


def _lookup(scope, container, name, stem, categories, default, **values):
    """A LabelEncoder of the strings in input ``name``: each category's value, missing last.

    ``values`` is one of ``int64s=`` or ``floats=``, the values of
    ``categories`` then of a missing value; any other string gets ``default``.
    """
    ((kind, mapped),) = values.items()
    out = scope.get_unique_variable_name(f"{name}_{stem}")
    container.add_node(
        "LabelEncoder",
        [name],
        [out],
        op_domain="ai.onnx.ml",
        op_version=2,
        keys_strings=input_strings(categories).tolist() + [MISSING_STRING],
        **{f"values_{kind}": mapped, f"default_{kind[:-1]}": default},
        name=scope.get_unique_operator_name("LabelEncoder"),
    )
    return out


def _cast(scope, container, name, stem):
    """``name`` cast to float32: the name of the result."""
    cast = scope.get_unique_variable_name(f"{stem}_float")
    container.add_node(
        "Cast", [name], [cast], to=TensorProto.FLOAT, name=scope.get_unique_operator_name("Cast")
    )
    return cast


def _column_names(estimator, mask):
    names = getattr(estimator, "feature_names_in_", None)
    positions = [j for j, is_set in enumerate(mask) if is_set]
    return [str(names[j]) for j in positions] if names is not None else positions
