"""The public API's docstrings keep what the project's rules ask of them (README: "Public docstrings give shapes,
units, errors and the source of a method"), so that `help(...)` does not drift from the code:

- every public name a user imports (each module's `__all__`) and its public methods and properties has a docstring;
- every exception a public function raises by name on bad input (`raise ValueError(...)`, or `raise helper(...)`
  where the helper returns an exception class) is named in its docstring (a constructor's: in its class's);
- every array argument (annotated `np.ndarray` or `torch.Tensor`) has its shape given, as `(N, 4)`, `(M,)`,
  `(H, W, 3)`.

The modules are read, not run: nothing here loads a model or a file. Exceptions raised by the functions a public
one calls are not followed (that function's own docstring names them), nor are re-raises of a caught one."""

from __future__ import annotations

import ast
import builtins
import importlib
import importlib.util
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1] / "tracker"
# The modules a user imports from: the package, the tracker's entry points, its config, types, models, gallery, the
# input/output helpers, the evaluation, the run and resume machinery (the core's step modules are internal).
_TOP = ["pipeline", "types", "detector", "embedder", "resume", "global_ids", "camera_motion", "model_setup"]
_PREFIXES = ("config", "gallery", "run")
_PACKAGES = ["reid", "io", "eval"]
_NOT_PUBLIC = {"__init__", "__main__"}
# A shape as the docstrings write one: "(N, 4)", "(M,)", "(..., D)", "(G, >=6)", "(H, W[, C])", "(2, 3)"
_SHAPE = re.compile(r"\((?:\.\.\.|[A-Z]|\d)[^()]*\)")
_ARRAY_TYPES = ("ndarray", "Tensor")


def module_names() -> list[str]:
    names = ["tracker", *(f"tracker.{name}" for name in _TOP)]
    names += sorted(f"tracker.{p.stem}" for p in ROOT.glob("*.py") if p.stem.startswith(_PREFIXES))
    for package in _PACKAGES:
        names.append(f"tracker.{package}")
        names += sorted(
            f"tracker.{package}.{p.stem}" for p in (ROOT / package).glob("*.py") if p.stem not in _NOT_PUBLIC
        )
    return names


def _own(obj: Any, module: Any) -> bool:
    """Defined in `module` (a name re-exported from another module is checked there), or exported by the package."""
    return module.__name__ == "tracker" or getattr(obj, "__module__", None) == module.__name__


def public_items() -> Iterator[tuple[str, Callable[..., Any], str]]:
    """(qualified name, function, the docstring that documents it) of every public function, method and property;
    a constructor (`__init__`, a dataclass's `__post_init__`) is documented by its class."""
    seen: set[int] = set()
    for name in module_names():
        module = importlib.import_module(name)
        for public in getattr(module, "__all__", ()):
            obj = getattr(module, public)
            if not _own(obj, module):
                continue
            if inspect.isclass(obj):
                class_doc = inspect.getdoc(obj) or ""
                yield f"{name}.{public}", obj, class_doc
                # with the parts a class is made of (`Gallery`'s `save` is `GalleryFiles.save`)
                parts = [k for k in obj.__mro__ if k.__module__.startswith("tracker")]
                for attr, value in [item for part in parts for item in vars(part).items()]:
                    function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                    if not inspect.isfunction(function) or function.__name__ == "<lambda>":  # (a field's default)
                        continue
                    function = inspect.unwrap(function)
                    if id(function) in seen:
                        continue
                    seen.add(id(function))
                    if attr in ("__init__", "__post_init__"):
                        yield f"{name}.{public}.{attr}", function, class_doc
                    elif not attr.startswith("_") or attr == "__call__":  # (a callable's call is its API)
                        yield f"{name}.{public}.{attr}", function, _method_doc(parts, attr)
            elif inspect.isfunction(obj) and id(obj) not in seen:
                seen.add(id(obj))
                yield f"{name}.{public}", inspect.unwrap(obj), inspect.getdoc(obj) or ""


def _method_doc(parts: list[type], attr: str) -> str:
    """The docstring `help()` shows for method `attr`: its own, else an overridden one of the tracker's classes
    (not Python's: `object`'s "Call self as a function." documents nothing)."""
    for part in parts:
        value = vars(part).get(attr)
        function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
        if function is not None and function.__doc__:
            return inspect.cleandoc(function.__doc__)
    return ""


def _exception_class(value: Any) -> type[BaseException] | None:
    return value if inspect.isclass(value) and issubclass(value, BaseException) else None


def raised_by_name(function: Callable[..., Any]) -> set[str]:
    """The exception classes `function`'s own body raises by name: `raise X(...)`, `raise X`, or `raise helper(...)`
    with `helper` annotated to return an exception class. Bare re-raises, `type(exc)(...)` and nested functions'
    raises are left out, and so is a helper that may return any `Exception` (too wide to name)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError):  # (no source: a builtin, a C function)
        return set()
    names: set[str] = set()
    body = tree.body[0]
    nested = {id(n) for node in ast.walk(body) if node is not body for n in ast.walk(node) if _is_scope(node)}
    for node in ast.walk(body):
        if not isinstance(node, ast.Raise) or node.exc is None or id(node) in nested:
            continue
        target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        if not isinstance(target, ast.Name):
            continue
        value = function.__globals__.get(target.id, getattr(builtins, target.id, None))
        found = _exception_class(value)
        if found is None and inspect.isfunction(value):
            found = _exception_class(_returned_class(value))
        if found is not None and found not in (Exception, BaseException):
            names.add(found.__name__)
    return names


def _returned_class(helper: Callable[..., Any]) -> Any:
    """What `helper`'s return annotation names (`-> ConfigError`, written as text under `from __future__ import
    annotations`), looked up where the helper lives; None without one."""
    written = getattr(helper, "__annotations__", {}).get("return")
    if not isinstance(written, str):
        return written
    return helper.__globals__.get(written, getattr(builtins, written, None))


def _is_scope(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | ast.ClassDef)


def array_arguments(function: Callable[..., Any]) -> list[str]:
    """The public parameters annotated as a numpy array or a torch tensor (alone or in a union; not a dict of them,
    such as a state dict; not a dataclass's private fields, `_name`, which a caller never passes)."""
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return []
    return [
        n
        for n, p in parameters.items()
        if any(t in str(p.annotation) for t in _ARRAY_TYPES)
        and not str(p.annotation).startswith("dict")
        and not n.startswith("_")
    ]


ITEMS = list(public_items())


def test_the_modules_are_found() -> None:
    """The walk reaches the API users call (an empty list would pass every check below)."""
    names = {name for name, _, _ in ITEMS}
    for expected in ("tracker.Tracker.update", "tracker.load_config", "tracker.gallery.Gallery.save"):
        assert expected in names
    assert len(ITEMS) > 300


def test_every_public_name_has_a_docstring() -> None:
    missing = [name for name, _, doc in ITEMS if not doc.strip()]
    assert not missing, f"public names without a docstring: {missing}"


def test_every_exception_raised_by_name_is_documented() -> None:
    undocumented = [
        f"{name}: {exception}"
        for name, function, doc in ITEMS
        for exception in sorted(raised_by_name(function))
        if not re.search(rf"\b{exception}\b", doc)
    ]
    assert not undocumented, f"exceptions raised but not named in the docstring: {undocumented}"


def test_every_array_argument_has_a_shape() -> None:
    shapeless = [
        f"{name}({', '.join(arrays)})"
        for name, function, doc in ITEMS
        if not name.endswith(("__init__", "__post_init__"))
        and (arrays := array_arguments(function))
        and not _SHAPE.search(doc)
    ]
    assert not shapeless, f"array arguments whose docstring gives no shape: {shapeless}"


PROBES = [
    ('def f(x):\n    """No raises."""\n    if x:\n        raise ValueError("bad")\n', {"ValueError"}),
    ("def f(x):\n    def g():\n        raise KeyError(1)\n    return g\n", set()),
    ("def f(x):\n    try:\n        pass\n    except OSError:\n        raise\n", set()),
    ('def _error() -> TypeError:\n    return TypeError("x")\n\n\ndef f():\n    raise _error()\n', {"TypeError"}),
]


@pytest.mark.parametrize(("source", "expected"), PROBES)
def test_the_raise_finder_reads_what_it_should(tmp_path: Path, source: str, expected: set[str]) -> None:
    """The checker itself: a direct raise and a helper's exception are found, a nested function's raise and a bare
    re-raise are not."""
    path = tmp_path / "probe_module.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("probe_module", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert raised_by_name(module.f) == expected
