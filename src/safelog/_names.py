"""
"Is this a name of code?": modules, functions, classes, pydantic fields, and
constants of other modules.

Everything safelog shows without a declared kind -- an event name, a logger
name, a module, function or class name, a pydantic field name -- must be
text the team wrote in a source file of code (`_sources` decides what that
is). A **name of code** is a dotted identifier that a loaded module of code
defines: a class reachable from its module's namespace, or a function or
class qualname of its file. Answers are cached with a bound.
"""

from __future__ import annotations

import sys

from types import CodeType, FrameType, ModuleType

from ._sources import (
    bounded_put,
    file_functions,
    file_pool,
    is_code_module,
    is_source_of_code,
    module_for_file,
)


__all__ = [
    "MARKER_NAME",
    "checked_module_name",
    "clear_caches",
    "defined_in_code",
    "function_name_of",
    "imported_constant",
    "is_dotted_name",
    "known_model_names",
    "module_name_of",
    "qualified_type_name",
]

#: Replaces a name that cannot be shown to be a name of code.
MARKER_NAME = "<unknown>"

_MAX_NAME = 200
_MAX_CACHE = 4096
_type_names: dict[int, tuple[type, str]] = {}
_code_names: dict[int, tuple[CodeType, str]] = {}
_module_names: dict[str, str] = {}
_model_facts_cache: dict[int, tuple[type, frozenset[str], str | None]] = {}

_TYPE_QUALNAME = type.__dict__["__qualname__"]
_TYPE_MRO = type.__dict__["__mro__"]
_TYPE_DICT = type.__dict__["__dict__"]
_TYPE_MODULE = type.__dict__["__module__"]
_TYPE_NAME = type.__dict__["__name__"]


def clear_caches() -> None:
    """Forget every cached name."""
    for cache in (_type_names, _code_names, _module_names, _model_facts_cache):
        cache.clear()


# -- names of code ----------------------------------------------------------------


def is_dotted_name(text: str, *, code_parts: bool) -> bool:
    """
    Whether *text* is a dotted identifier (``co_qualname`` parts such as
    ``<locals>`` allowed if *code_parts*). Shape only: see `defined_in_code`.
    """
    if not text or len(text) > _MAX_NAME:
        return False
    for part in text.split("."):
        if part.isidentifier():
            continue
        # co_qualname parts such as "<locals>", "<lambda>", "<module>".
        if code_parts and len(part) > 2 and part[0] == "<" and part[-1] == ">":
            inner = part[1:-1]
            if inner.isascii() and inner.isalpha() and inner.islower():
                continue
        return False
    return True


def qualified_type_name(tp: type) -> str:
    """``module.QualName`` of a class: a name of code, never of data."""
    hit = _type_names.get(id(tp))
    # The entry holds the type itself, so its id cannot have been reused.
    if hit is not None and hit[0] is tp:
        return hit[1]
    name = _compute_type_name(tp)
    bounded_put(_type_names, id(tp), (tp, name), _MAX_CACHE)
    return name


def _compute_type_name(tp: object) -> str:
    # issubclass(type(...)): isinstance would consult a hostile __class__.
    if not issubclass(type(tp), type):
        return MARKER_NAME
    try:
        # type's own slots: a metaclass property is never consulted.
        qualname = _TYPE_QUALNAME.__get__(tp)
        module = _TYPE_MODULE.__get__(tp)
    except Exception:  # noqa: BLE001 -- any oddity: the marker
        return MARKER_NAME
    if type(qualname) is not str or not is_dotted_name(qualname, code_parts=True):
        return MARKER_NAME
    if type(module) is not str or module == "builtins":
        return qualname
    if not is_dotted_name(module, code_parts=False):
        return f"{MARKER_NAME}.{qualname}"
    if not defined_in_code(tp, module, qualname):
        # Made at runtime -- type(name_from_data, bases, ns) -- so its name
        # may be data: name the nearest base that is a class of code.
        try:
            bases = _TYPE_MRO.__get__(tp)[1:]
        except Exception:  # noqa: BLE001
            return MARKER_NAME
        for base in bases:
            name = qualified_type_name(base)
            if not name.startswith(MARKER_NAME):
                return name
        return MARKER_NAME
    return f"{module}.{qualname}"


def defined_in_code(tp: object, module: str, qualname: str) -> bool:
    """
    Whether class *tp* is what its module of code calls *qualname*, or its
    qualname is a literal of the module's source file (classes inside
    functions).
    """
    mod = sys.modules.get(module)
    if mod is None or not is_code_module(mod):
        return False
    obj: object = mod
    try:
        for part in qualname.split("."):
            # Plain dict lookups: no module __getattr__, no descriptors.
            ns = mod.__dict__ if obj is mod else _TYPE_DICT.__get__(obj)
            obj = ns.get(part)
            if obj is None:
                break
        if obj is tp:
            return True
    except Exception:  # noqa: BLE001, S110 -- an odd namespace: try the source
        pass
    filename = getattr(mod, "__file__", None)
    if type(filename) is str and filename.endswith(".py"):
        return qualname in file_pool(filename)
    return False


def _code_name(code: CodeType) -> str:
    hit = _code_names.get(id(code))
    if hit is not None and hit[0] is code:
        return hit[1]
    raw = getattr(code, "co_qualname", code.co_name)
    name = raw if type(raw) is str and is_dotted_name(raw, code_parts=True) else MARKER_NAME
    if name != MARKER_NAME and not _names_code_in_its_file(name, code):
        # exec'd or generated code: its name may have been built from data.
        name = MARKER_NAME
    bounded_put(_code_names, id(code), (code, name), _MAX_CACHE)
    return name


def _names_code_in_its_file(name: str, code: CodeType) -> bool:
    """Whether *name* is a function or class of the source *code* came from."""
    filename = code.co_filename
    if type(filename) is not str or not is_source_of_code(filename):
        return False
    if filename.startswith("<frozen "):
        return True
    if name == "<module>":
        return True
    module = module_for_file(filename)
    mod = sys.modules.get(module) if module is not None else None
    globals_ = getattr(mod, "__dict__", None)
    return name in file_functions(filename, globals_)


def checked_module_name(raw: object) -> str:
    """*raw* if it names a loaded module of code, else the marker."""
    if type(raw) is not str:
        return MARKER_NAME
    hit = _module_names.get(raw)
    if hit is not None:
        return hit
    name = raw if is_dotted_name(raw, code_parts=False) else MARKER_NAME
    # Only names are cached: whether the module is loaded, and code, is
    # asked each time (a module can be loaded later, or replaced).
    bounded_put(_module_names, raw, name, _MAX_CACHE)
    if name != MARKER_NAME and not is_code_module(sys.modules.get(name)):
        return MARKER_NAME
    return name


def module_name_of(frame: FrameType) -> str:
    """The module name of *frame*'s code, or the marker; never a path."""
    globals_ = frame.f_globals
    # dict.get on the real dict: a dict subclass's __getitem__ is not called.
    raw = dict.get(globals_, "__name__") if issubclass(type(globals_), dict) else None
    return checked_module_name(raw)


def function_name_of(frame: FrameType) -> str:
    """The qualified name of *frame*'s code, or the marker."""
    return _code_name(frame.f_code)


# -- constants of other modules ------------------------------------------------------


def imported_constant(text: str, code: CodeType, globals_: object) -> bool:
    """
    Whether *text* is a module-level string constant of another module of
    code that the calling *code* reads by name: ``from app.events import
    PAGE_EXPORTED; log.info(PAGE_EXPORTED)`` or ``log.info(events.PAGE_EXPORTED)``.

    The names come from the calling code's own ``co_names``; the value must be
    *the same object* as that module's global, and a literal of that module's
    source file. A string built from data is a new object, never one of them.
    """
    if type(globals_) is not dict:
        return False
    names = code.co_names
    for name in names:
        value = dict.get(globals_, name)
        if value is text:
            if _defining_module_has(name, text):
                return True
        elif type(value) is ModuleType and _module_attr_is(value, names, text, depth=2):
            return True
    return False


def _module_attr_is(mod: ModuleType, names: tuple[str, ...], text: str, *, depth: int) -> bool:
    ns = mod.__dict__
    for name in names:
        value = dict.get(ns, name)
        if value is text:
            if _is_literal_of(mod, text) or _defining_module_has(name, text):
                return True
        elif (
            depth > 1
            and type(value) is ModuleType
            and _module_attr_is(value, names, text, depth=depth - 1)
        ):
            return True
    return False


def _is_literal_of(mod: ModuleType, text: str) -> bool:
    filename = mod.__dict__.get("__file__")
    return (
        type(filename) is str and is_code_module(mod) and text in file_pool(filename, mod.__dict__)
    )


def _defining_module_has(name: str, text: str) -> bool:
    """Whether a loaded module of code binds *name* to *text* and has it as a literal."""
    for mod in list(sys.modules.values()):
        ns = getattr(mod, "__dict__", None)
        if type(ns) is dict and dict.get(ns, name) is text and _is_literal_of(mod, text):
            return True
    return False


# -- pydantic models -------------------------------------------------------------------


def known_model_names(base: type) -> tuple[frozenset[str], frozenset[str]]:
    """
    Field names (and aliases) and titles of every loaded pydantic model of
    code. A model made at runtime contributes only what its module's source
    spells out: ``create_model("Row", **{header: ...})`` keeps its constant
    title, but the field names and aliases it got from data count for nothing.
    """
    names: set[str] = set()
    titles: set[str] = set()
    seen: set[int] = set()
    todo = [base]
    while todo:
        cls = todo.pop()
        if id(cls) in seen:
            continue
        seen.add(id(cls))
        try:
            todo.extend(type.__subclasses__(cls))
        except Exception:  # noqa: BLE001, S112 -- skip an odd class
            continue
        hit = _model_facts_cache.get(id(cls))
        if hit is None or hit[0] is not cls:
            hit = (cls, *_model_facts(cls))
            bounded_put(_model_facts_cache, id(cls), hit, _MAX_CACHE)
        names.update(hit[1])
        if hit[2] is not None:
            titles.add(hit[2])
    return frozenset(names), frozenset(titles)


def _model_facts(cls: type) -> tuple[frozenset[str], str | None]:
    try:
        qualname = _TYPE_QUALNAME.__get__(cls)
        module = _TYPE_MODULE.__get__(cls)
        name = _TYPE_NAME.__get__(cls)
    except Exception:  # noqa: BLE001 -- an odd class contributes nothing
        return frozenset(), None
    if (
        type(qualname) is not str
        or type(module) is not str
        or not defined_in_code(cls, module, qualname)
    ):
        return frozenset(), None
    return _fields_of(cls), name if type(name) is str else None


def _source_pools(cls: type) -> frozenset[str]:
    """The literals of the source files of *cls* and its bases."""
    out: set[str] = set()
    try:
        mro = _TYPE_MRO.__get__(cls)
    except Exception:  # noqa: BLE001 -- an odd class: nothing
        return frozenset()
    for klass in mro:
        module = sys.modules.get(_TYPE_MODULE.__get__(klass))
        filename = getattr(module, "__file__", None)
        if type(filename) is str and is_code_module(module):
            out |= file_pool(filename, getattr(module, "__dict__", None))
    return frozenset(out)


def _fields_of(cls: type) -> frozenset[str]:
    """
    Field names and aliases of model *cls* that its source spells out, and
    aliases its ``alias_generator`` (code) derives from such a name.
    """
    pool = _source_pools(cls)
    out: set[str] = set()
    try:
        config = cls.__dict__.get("model_config") or {}
        generator = config.get("alias_generator") if isinstance(config, dict) else None
        fields = cls.__dict__.get("__pydantic_fields__") or {}
        for name, info in dict(fields).items():
            if type(name) is not str or name not in pool:
                # A field name from data (create_model(**{header: ...})):
                # neither it nor its aliases are names of code.
                continue
            out.add(name)
            derived = _generated_aliases(generator, name)
            for attr in ("alias", "validation_alias", "serialization_alias"):
                alias = getattr(info, attr, None)
                if type(alias) is str and (alias in pool or alias in derived):
                    out.add(alias)
    except Exception:  # noqa: BLE001 -- an unreadable model contributes nothing
        return frozenset()
    return frozenset(out)


def _generated_aliases(generator: object, name: str) -> frozenset[str]:
    """What the model's alias generator (code, given a name of code) makes of *name*."""
    if generator is None:
        return frozenset()
    out: set[str] = set()
    # A callable, or pydantic's AliasGenerator with one per use.
    candidates = (
        [generator]
        if callable(generator)
        else [getattr(generator, attr, None) for attr in ("alias", "validation_alias")]
    )
    for fn in candidates:
        if not callable(fn):
            continue
        try:
            alias = fn(name)
        except Exception:  # noqa: BLE001, S112 -- a failing generator derives nothing
            continue
        if type(alias) is str:
            out.add(alias)
    return frozenset(out)
