"""Every public object documents its parameters as its signature has them.

Like scikit-learn's ``test_docstring_parameters.py``: for each name in a public
module's ``__all__``, the numpydoc ``Parameters`` section lists the
signature's parameters in order (a class: those of ``__init__``; each public
method too), each with a type.
"""

import importlib
import inspect

import pytest

numpydoc = pytest.importorskip("numpydoc.docscrape")

PUBLIC_MODULES = [
    "sklearn_mtl",
    "sklearn_mtl.architectures",
    "sklearn_mtl.datasets",
    "sklearn_mtl.embeddings",
    "sklearn_mtl.inspection",
    "sklearn_mtl.metrics",
    "sklearn_mtl.model_selection",
    "sklearn_mtl.parallel",
    "sklearn_mtl.uncertainty",
    "sklearn_mtl.weighting",
]


def _public_callables():
    for module_name in PUBLIC_MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj):
                yield f"{module_name}.{name}", obj
                for method_name, method in vars(obj).items():
                    if not method_name.startswith("_") and inspect.isfunction(method):
                        yield f"{module_name}.{name}.{method_name}", method
            elif inspect.isfunction(obj):
                yield f"{module_name}.{name}", inspect.unwrap(obj)


OBJECTS = dict(_public_callables())


def _signature_names(obj):
    names = []
    for parameter in inspect.signature(obj).parameters.values():
        if parameter.name == "self":
            continue
        prefix = {parameter.VAR_POSITIONAL: "*", parameter.VAR_KEYWORD: "**"}
        names.append(prefix.get(parameter.kind, "") + parameter.name)
    return names


def _documented(obj):
    if inspect.isclass(obj):
        doc = numpydoc.ClassDoc(obj, config={"show_class_members": False})
    else:
        doc = numpydoc.FunctionDoc(obj)
    return [(name, kind) for name, kind, _ in doc["Parameters"]]


@pytest.mark.parametrize("qualname", sorted(OBJECTS))
def test_parameters_are_documented_as_the_signature_has_them(qualname):
    obj = OBJECTS[qualname]
    assert inspect.getdoc(obj), f"{qualname} has no docstring"
    expected = _signature_names(obj)
    documented = _documented(obj)
    # Several parameters of one type may share a line: "a, b : float".
    names = [part.strip() for name, _ in documented for part in name.split(",")]
    assert names == expected, f"{qualname}: documented {names}, signature {expected}"
    untyped = [name for name, kind in documented if not kind and not name.startswith("*")]
    assert not untyped, f"{qualname}: no type for {untyped}"
