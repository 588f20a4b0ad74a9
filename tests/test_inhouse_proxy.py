"""The in-house ``LocalProxy`` is a drop-in for werkzeug's (issue 17, item 14).

Written from werkzeug 3.x's documented behaviour (the ``LocalProxy`` docstring and the
"Context Locals" docs): every test runs on both implementations, so each assertion is
checked against werkzeug itself. Where an unbound proxy's answer comes from Python's
own handling of a failed special-method lookup (``==``, ``<``, ``hash``, ``iter``), the
test says so; it is werkzeug's observable behaviour all the same.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import math
import operator
import threading
from contextvars import ContextVar
from importlib.metadata import version
from types import SimpleNamespace

import pytest
import werkzeug.local

import harness.inhouse.local

# LocalProxy(ContextVar), unbound_message and __wrapped__ arrived in werkzeug 2.2.x:
# older tox envs run the in-house half only.
_WERKZEUG = tuple(int(part) for part in version("werkzeug").split(".")[:2])

IMPLEMENTATIONS = [
    pytest.param(harness.inhouse.local, id="inhouse"),
    pytest.param(
        werkzeug.local,
        id="werkzeug",
        marks=pytest.mark.skipif(_WERKZEUG < (2, 3), reason="the documented behaviour is werkzeug >= 2.3's"),
    ),
]


@pytest.fixture(params=IMPLEMENTATIONS)
def impl(request):
    """The module providing ``Local``, ``LocalStack`` and ``LocalProxy``."""
    return request.param


def bound(impl, value):
    """A proxy to ``value`` through ``Local(name)``, and the local holding it."""
    ns = impl.Local()
    ns.value = value
    return ns("value"), ns


def unbound(impl, message="no value here"):
    """A proxy to an attribute that is not set, with its own unbound message."""
    return impl.Local()("value", unbound_message=message)


def is_proxy(impl, obj):
    return issubclass(type(obj), impl.LocalProxy)


class User:
    """A user, for the isinstance examples of the docs."""

    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"<User {self.name}>"


# ---- what a proxy can stand for -----------------------------------------------------


def test_local_called_with_a_name_proxies_that_attribute(impl):
    data = impl.Local()
    user = data("user")
    assert is_proxy(impl, user)
    data.user = User("admin")
    assert user.name == "admin"
    data.user = User("guest")  # the proxy follows what the local holds now
    assert user.name == "guest"


def test_local_stack_called_without_a_name_proxies_the_top(impl):
    stack = impl.LocalStack()
    top, name = stack(), stack("name")
    stack.push(User("one"))
    stack.push(User("two"))
    assert top.name == "two" and name == "two"
    stack.pop()
    assert top.name == "one" and name == "one"
    assert top._get_current_object() is stack.top


def test_context_var_and_callable_with_or_without_a_name(impl):
    var = ContextVar("request")
    request, session = impl.LocalProxy(var), impl.LocalProxy(var, "session")
    var.set(SimpleNamespace(session={"id": 1}))
    assert request.session == {"id": 1} and session == {"id": 1}

    holder = SimpleNamespace(value=[1, 2])
    assert impl.LocalProxy(lambda: holder).value == [1, 2]
    assert impl.LocalProxy(lambda: holder, "value") == [1, 2]  # the name applies to what it returns


def test_a_missing_attribute_of_the_item_is_an_attribute_error(impl):
    stack = impl.LocalStack()
    stack.push(SimpleNamespace())
    with pytest.raises(AttributeError):
        stack("missing")._get_current_object()
    with pytest.raises(AttributeError):
        impl.LocalProxy(lambda: SimpleNamespace(), "missing")._get_current_object()


def test_what_cannot_be_proxied_is_a_type_error(impl):
    with pytest.raises(TypeError, match="'name' is required"):
        impl.LocalProxy(impl.Local())
    with pytest.raises(TypeError):
        impl.LocalProxy(42)


def test_a_local_holding_stack_like_names_is_still_a_local(impl):
    data = impl.Local()
    data.push = data.pop = data.top = "stored"
    data.user = "admin"
    assert data("user") == "admin"


def test_get_current_object_returns_the_object_itself(impl):
    value = [1]
    proxy, _ = bound(impl, value)
    assert proxy._get_current_object() is value


def test_the_proxy_resolves_in_the_calling_worker(impl):
    proxy, _ = bound(impl, "main")
    box = []

    def other_worker():
        box.append(repr(proxy))

    thread = threading.Thread(target=other_worker)
    thread.start()
    thread.join()
    assert box == ["<LocalProxy unbound>"] and repr(proxy) == "'main'"


# ---- unbound ------------------------------------------------------------------------

UNBOUND_OPERATIONS = {
    "str": str,
    "bytes": bytes,
    "format": lambda p: format(p, ""),
    "getattr": lambda p: p.name,
    "hasattr": lambda p: hasattr(p, "name"),
    "setattr": lambda p: setattr(p, "name", 1),
    "delattr": lambda p: delattr(p, "name"),
    "call": lambda p: p(),
    "len": len,
    "contains": lambda p: 1 in p,
    "getitem": lambda p: p[0],
    "setitem": lambda p: operator.setitem(p, 0, 1),
    "delitem": lambda p: operator.delitem(p, 0),
    "next": next,
    "reversed": reversed,
    "add": lambda p: p + 1,
    "radd": lambda p: 1 + p,
    "iadd": lambda p: operator.iadd(p, 1),
    "neg": operator.neg,
    "int": int,
    "float": float,
    "index": operator.index,
    "round": round,
    "floor": math.floor,
    "copy": copy.copy,
    "deepcopy": copy.deepcopy,
    "isinstance against it": lambda p: isinstance(1, p),
    "enter": lambda p: p.__enter__(),
}


@pytest.mark.parametrize("operation", UNBOUND_OPERATIONS.values(), ids=UNBOUND_OPERATIONS.keys())
def test_an_unbound_proxy_raises_runtime_error_with_its_message(impl, operation):
    with pytest.raises(RuntimeError, match="^no value here$"):
        operation(unbound(impl))


def test_the_default_unbound_message(impl):
    with pytest.raises(RuntimeError, match="^object is not bound$"):
        str(impl.LocalStack()())
    with pytest.raises(RuntimeError, match="^object is not bound$"):
        str(impl.LocalProxy(ContextVar("unset")))


def test_the_documented_fallbacks_of_an_unbound_proxy(impl):
    local = impl.Local()
    proxy = local("value")
    assert repr(proxy) == "<LocalProxy unbound>"
    assert bool(proxy) is False and not proxy
    assert dir(proxy) == []
    assert proxy.__class__ is impl.LocalProxy
    assert proxy.__doc__ == impl.LocalProxy.__doc__ and isinstance(impl.LocalProxy.__doc__, str)
    assert proxy.__wrapped__ is local
    stack = impl.LocalStack()
    assert stack().__wrapped__ is stack


def test_where_python_answers_for_an_unbound_proxy(impl):
    # A failed comparison/hash/iter lookup is turned into Python's default by CPython.
    proxy = unbound(impl)
    assert (proxy == 1) is False and (proxy != 1) is True and proxy == proxy
    with pytest.raises(TypeError):
        _ = proxy < 1
    with pytest.raises(TypeError):
        hash(proxy)
    with pytest.raises(TypeError):
        iter(proxy)


# ---- conversions, class and identity --------------------------------------------------


def test_repr_and_class_look_like_the_object(impl):
    user, _ = bound(impl, User("admin"))
    assert repr(user) == "<User admin>"
    assert isinstance(user, User) and user.__class__ is User
    assert issubclass(type(user), impl.LocalProxy)


def test_string_conversions(impl):
    text, _ = bound(impl, "héllo")
    assert str(text) == "héllo" and f"{text:>6}" == " héllo" and format(text, "") == "héllo"
    data, _ = bound(impl, b"raw")
    assert bytes(data) == b"raw"


def test_numeric_conversions(impl):
    number, _ = bound(impl, 7.5)
    assert int(number) == 7 and float(number) == 7.5 and complex(number) == 7.5 + 0j
    assert round(number) == 8 and round(number, 0) == 8.0
    assert math.trunc(number) == 7 and math.floor(number) == 7 and math.ceil(number) == 8
    index, _ = bound(impl, 2)
    assert operator.index(index) == 2 and "abc"[index] == "c" and hex(index) == "0x2"


def test_bool_follows_the_object(impl):
    empty, ns = bound(impl, [])
    assert not empty
    ns.value = [0]
    assert empty


def test_doc_and_wrapped_come_from_a_bound_object(impl):
    def original():
        """The original's docstring."""

    @functools.wraps(original)
    def wrapper():
        return original()

    proxy, _ = bound(impl, wrapper)
    assert proxy.__doc__ == "The original's docstring."
    assert proxy.__wrapped__ is original


def test_the_class_is_generic_for_annotations(impl):
    assert impl.LocalProxy[int] is not None


# ---- comparisons and hashing ----------------------------------------------------------


COMPARISONS = [operator.lt, operator.le, operator.eq, operator.ne, operator.gt, operator.ge]


@pytest.mark.parametrize("compare", COMPARISONS, ids=lambda op: op.__name__)
def test_comparisons_are_the_objects(impl, compare):
    proxy, _ = bound(impl, 5)
    for other in (4, 5, 6):
        assert compare(proxy, other) == compare(5, other)
        assert compare(other, proxy) == compare(other, 5)


def test_hash_is_the_objects_so_a_proxy_finds_dict_entries(impl):
    key, _ = bound(impl, "key")
    assert hash(key) == hash("key") and {"key": 1}[key] == 1
    unhashable, _ = bound(impl, [1])
    with pytest.raises(TypeError):
        hash(unhashable)


# ---- arithmetic -----------------------------------------------------------------------

BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    divmod,
    pow,
    operator.lshift,
    operator.rshift,
    operator.and_,
    operator.xor,
    operator.or_,
]


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
def test_binary_and_reflected_operators(impl, op):
    proxy, _ = bound(impl, 12)
    assert op(proxy, 5) == op(12, 5)
    assert op(5, proxy) == op(5, 12)  # int's op gives NotImplemented; the proxy's reflected one answers


class Matrix:
    def __matmul__(self, other):
        return ("matmul", other)

    def __rmatmul__(self, other):
        return ("rmatmul", other)


def test_matrix_multiplication_and_three_argument_pow(impl):
    proxy, _ = bound(impl, Matrix())
    assert proxy @ 1 == ("matmul", 1) and 1 @ proxy == ("rmatmul", 1)
    base, _ = bound(impl, 3)
    assert pow(base, 4, 5) == pow(3, 4, 5)


@pytest.mark.parametrize("op", [operator.neg, operator.pos, abs, operator.invert], ids=lambda op: op.__name__)
def test_unary_operators(impl, op):
    proxy, _ = bound(impl, -6)
    assert op(proxy) == op(-6)


IN_PLACE = "add sub mul matmul truediv floordiv mod pow lshift rshift and xor or".split()


def _recording(dunder):
    def in_place(self, other):
        self.log.append((dunder, other))
        return self

    return in_place


class Recorder:
    """Records each in-place operation done on it and returns itself, as a mutable type does."""

    def __init__(self):
        self.log = []


for _name in IN_PLACE:
    setattr(Recorder, f"__i{_name}__", _recording(f"__i{_name}__"))


@pytest.mark.parametrize("name", IN_PLACE)
def test_in_place_operators_change_the_object_and_return_the_proxy(impl, name):
    recorder = Recorder()
    proxy, ns = bound(impl, recorder)
    op = getattr(operator, f"i{name}")
    assert op(proxy, 3) is proxy
    assert recorder.log == [(f"__i{name}__", 3)] and ns.value is recorder


def test_augmented_assignment_keeps_the_name_a_proxy(impl):
    items, ns = bound(impl, [1])
    original = items
    items += [2]
    assert items is original and ns.value == [1, 2]
    # On an immutable object the new value is dropped: the proxy stays, the local is unchanged.
    number, ns = bound(impl, 1)
    proxy = number
    number += 1
    assert number is proxy and ns.value == 1


# ---- containers and iteration -----------------------------------------------------------


def test_container_operations(impl):
    proxy, ns = bound(impl, {"a": 1})
    assert len(proxy) == 1 and "a" in proxy and "b" not in proxy and proxy["a"] == 1
    proxy["b"] = 2
    del proxy["a"]
    assert ns.value == {"b": 2}
    with pytest.raises(KeyError):
        _ = proxy["a"]
    sequence, _ = bound(impl, [1, 2, 3])
    assert sequence[1:] == [2, 3] and list(reversed(sequence)) == [3, 2, 1]
    assert operator.length_hint(sequence) == 3


def test_iteration_and_next(impl):
    sequence, _ = bound(impl, [1, 2])
    assert list(sequence) == [1, 2] and [x * 2 for x in sequence] == [2, 4]
    iterator, _ = bound(impl, iter([7, 8]))
    assert next(iterator) == 7 and next(iterator) == 8
    with pytest.raises(StopIteration):
        next(iterator)


# ---- attributes, calling, classes ----------------------------------------------------------


def test_attribute_access_goes_to_the_object(impl):
    user, ns = bound(impl, User("admin"))
    user.role = "owner"
    assert ns.value.role == "owner" and user.role == "owner"
    del user.role
    assert not hasattr(ns.value, "role")
    with pytest.raises(AttributeError):
        _ = user.role
    assert dir(user) == dir(ns.value)


def test_calling_a_proxy_calls_the_object(impl):
    stack = impl.LocalStack()
    handler = stack()
    stack.push(lambda *args, **kwargs: (args, kwargs))
    assert handler(1, key=2) == ((1,), {"key": 2})


def test_a_proxy_to_a_class_checks_instances_and_subclasses(impl):
    cls, _ = bound(impl, int)
    assert isinstance(3, cls) and not isinstance("3", cls)
    assert issubclass(bool, cls) and not issubclass(str, cls)


def test_copy_and_deepcopy_copy_the_object_not_the_proxy(impl):
    inner = [1]
    proxy, _ = bound(impl, [inner])
    shallow, deep = copy.copy(proxy), copy.deepcopy(proxy)
    assert type(shallow) is list and shallow == [[1]] and shallow[0] is inner
    assert type(deep) is list and deep == [[1]] and deep[0] is not inner


# ---- context managers and async protocols ----------------------------------------------------


class Resource:
    def __init__(self):
        self.events = []

    def __enter__(self):
        self.events.append("enter")
        return "entered"

    def __exit__(self, kind, exc, tb):
        self.events.append(("exit", kind))
        return True  # suppress

    async def __aenter__(self):
        self.events.append("aenter")
        return "aentered"

    async def __aexit__(self, kind, exc, tb):
        self.events.append(("aexit", kind))
        return True

    def __await__(self):
        yield from asyncio.sleep(0).__await__()
        return "awaited"

    def __aiter__(self):
        self.left = [1, 2]
        return self

    async def __anext__(self):
        if not self.left:
            raise StopAsyncIteration
        return self.left.pop(0)


def test_with_statement(impl):
    proxy, ns = bound(impl, Resource())
    with proxy as entered:
        assert entered == "entered"
        raise ValueError
    assert ns.value.events == ["enter", ("exit", ValueError)]


def test_async_protocols(impl):
    resource = Resource()

    async def use():
        proxy, _ = bound(impl, resource)  # bound in the task: the in-house Local starts each task empty
        async with proxy as entered:
            assert entered == "aentered"
            raise KeyError
        return await proxy, [x async for x in proxy]

    assert asyncio.run(use()) == ("awaited", [1, 2])
    assert resource.events == ["aenter", ("aexit", KeyError)]


def test_awaiting_a_proxy_to_a_coroutine(impl):
    async def compute():
        return 42

    async def use():
        var = ContextVar("job")
        var.set(compute())
        return await impl.LocalProxy(var)

    assert asyncio.run(use()) == 42
