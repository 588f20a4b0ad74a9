"""``LocalProxy``: a drop-in for ``werkzeug.local.LocalProxy`` (werkzeug 3.x).

Every special method werkzeug's proxy forwards is a :class:`_Forward` descriptor
here: looked up on the proxy's type, it fetches the bound object and hands back
that object's operation (``operator.add`` bound to the object for ``__add__``, and
so on). Redoing the operation through the builtin (rather than calling the
object's own ``__add__``) keeps Python's fallbacks, e.g. ``NotImplemented``
handling and reflected operands.

When the proxy is unbound, a forwarded operation raises ``RuntimeError`` with the
unbound message, except where werkzeug documents a fallback: ``repr`` gives
``<LocalProxy unbound>``, ``bool`` is ``False``, ``dir`` is ``[]``, ``__class__``
is ``LocalProxy``, ``__doc__`` is the class docstring, and ``__wrapped__`` is the
local the proxy was made from.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable
from contextvars import ContextVar
from functools import partial
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_UNBOUND = "object is not bound"


class _Forward:
    """A special method or attribute of :class:`LocalProxy`, forwarded to the bound object.

    ``via`` is the builtin that performs the operation on the object (its first
    argument is the object); without it the object's own attribute of the same
    name is returned. ``fallback(proxy)`` answers instead of raising when the proxy
    is unbound: it is the attribute's value when ``is_attr``, else the method's
    implementation. ``class_value`` is what the class itself shows (``__doc__``).
    """

    __slots__ = ("class_value", "fallback", "is_attr", "name", "via")

    def __init__(
        self,
        via: Callable[..., Any] | None = None,
        *,
        fallback: Callable[[LocalProxy[Any]], Any] | None = None,
        is_attr: bool = False,
        class_value: Any = None,
    ) -> None:
        self.via = via
        self.fallback = fallback
        self.is_attr = is_attr
        self.class_value = class_value
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, proxy: LocalProxy[Any] | None, owner: type | None = None) -> Any:
        if proxy is None:
            return self if self.class_value is None else self.class_value
        try:
            target = proxy._get_current_object()
        except RuntimeError:
            if self.fallback is None:
                raise
            return self.fallback(proxy) if self.is_attr else partial(self.fallback, proxy)
        return self.bind(proxy, target)

    def bind(self, proxy: LocalProxy[Any], target: Any) -> Any:
        """The operation (or attribute) on ``target`` that the proxy's lookup stands for."""
        if self.via is None:
            return getattr(target, self.name)
        return partial(self.via, target)

    def __call__(self, proxy: LocalProxy[Any], *args: Any, **kwargs: Any) -> Any:
        # Reached when the method is taken from the class, as copy.copy does with
        # type(x).__copy__(x): type() of a proxy is the proxy class, not the object's.
        return self.__get__(proxy, type(proxy))(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<proxied {self.name}>"


class _ForwardInPlace(_Forward):
    """An augmented assignment (``+=`` ...): done on the object, the result is the proxy.

    So ``p += x`` keeps ``p`` a proxy; a mutable object (a list) changes in place,
    while on an immutable one (an int) the new value is discarded, as in werkzeug.
    """

    __slots__ = ()

    def bind(self, proxy: LocalProxy[Any], target: Any) -> Any:
        op = self.via
        assert op is not None

        def in_place(other: Any) -> LocalProxy[Any]:
            op(target, other)
            return proxy

        return in_place


def _reflected(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``op`` with its operands swapped: the proxied object is the right-hand one."""

    def reflected(target: Any, other: Any) -> Any:
        return op(other, target)

    return reflected


# Kinds are told by the type's attributes: a Local answers getattr with whatever the
# worker stored, so an instance whose worker set ``push`` must not look like a stack.
def _is_stack(local: Any) -> bool:
    kind = type(local)
    return hasattr(kind, "push") and hasattr(kind, "pop") and hasattr(kind, "top")


def _is_namespace(local: Any) -> bool:
    return hasattr(type(local), "__release_local__") and not _is_stack(local)


def _lookup(local: Any, name: str | None, message: str) -> Callable[[], Any]:
    """The function returning the proxied object now; it raises ``RuntimeError(message)`` when unbound.

    ``local`` is a Local (``name`` required; a missing attribute is unbound), a
    LocalStack (an empty stack is unbound), a ``ContextVar`` (no value is unbound) or
    a zero-argument callable. With ``name``, the object is that attribute of the
    item; a missing attribute of the item raises ``AttributeError``.
    """

    def pick(obj: Any) -> Any:
        return obj if name is None else getattr(obj, name)

    if _is_namespace(local):
        if name is None:
            raise TypeError("'name' is required when proxying a 'Local' object.")

        def from_namespace() -> Any:
            try:
                return getattr(local, name)
            except AttributeError:
                raise RuntimeError(message) from None

        return from_namespace
    if _is_stack(local):

        def from_stack() -> Any:
            top = local.top
            if top is None:
                raise RuntimeError(message)
            return pick(top)

        return from_stack
    if isinstance(local, ContextVar):

        def from_context_var() -> Any:
            try:
                value = local.get()
            except LookupError:
                raise RuntimeError(message) from None
            return pick(value)

        return from_context_var
    if callable(local):
        return lambda: pick(local())
    raise TypeError(f"Don't know how to proxy '{type(local)}'.")


class LocalProxy(Generic[T]):
    """A proxy to the object bound to a context-local: every operation goes to that object.

    ``LocalProxy(local, name=None, *, unbound_message=None)``: ``local`` is a
    ``Local`` (with ``name``: the attribute), a ``LocalStack`` (its top item), a
    ``ContextVar`` (its value) or a zero-argument callable (what it returns); with
    ``name``, the proxy stands for that attribute of the item. An unbound proxy
    raises ``RuntimeError(unbound_message)`` (default ``"object is not bound"``).

    ``repr`` and ``__class__`` are forwarded, so ``isinstance(p, cls)`` checks the
    object; ``issubclass(type(p), LocalProxy)`` tells a proxy. ``p._get_current_object()``
    returns the object itself, for code that needs the real thing.
    """

    __slots__ = ("_LocalProxy__local", "_get_current_object")
    _LocalProxy__local: Any
    _get_current_object: Callable[[], T]

    def __init__(
        self,
        local: ContextVar[T] | Any | Callable[[], T],
        name: str | None = None,
        *,
        unbound_message: str | None = None,
    ) -> None:
        message = _UNBOUND if unbound_message is None else unbound_message
        # __setattr__ is forwarded to the proxied object, so set the slots directly.
        object.__setattr__(self, "_get_current_object", _lookup(local, name, message))
        object.__setattr__(self, "_LocalProxy__local", local)

    # ---- attributes that answer even when unbound --------------------------------
    __doc__ = _Forward(class_value=__doc__, fallback=lambda p: type(p).__doc__, is_attr=True)
    __wrapped__ = _Forward(fallback=lambda p: p._LocalProxy__local, is_attr=True)
    __class__ = _Forward(fallback=lambda p: type(p), is_attr=True)
    __repr__ = _Forward(repr, fallback=lambda p: f"<{type(p).__name__} unbound>")
    __bool__ = _Forward(bool, fallback=lambda p: False)
    __dir__ = _Forward(dir, fallback=lambda p: [])

    # ---- attribute access, conversions ---------------------------------------------
    __getattr__ = _Forward(getattr)
    __setattr__ = _Forward(setattr)
    __delattr__ = _Forward(delattr)
    __str__ = _Forward(str)
    __bytes__ = _Forward(bytes)
    __format__ = _Forward()
    __complex__ = _Forward(complex)
    __int__ = _Forward(int)
    __float__ = _Forward(float)
    __index__ = _Forward(operator.index)
    __round__ = _Forward(round)
    __trunc__ = _Forward(math.trunc)
    __floor__ = _Forward(math.floor)
    __ceil__ = _Forward(math.ceil)
    __copy__ = _Forward(copy.copy)
    __deepcopy__ = _Forward(copy.deepcopy)

    # ---- comparisons, hashing, calling, classes ----------------------------------
    __lt__ = _Forward(operator.lt)
    __le__ = _Forward(operator.le)
    __eq__ = _Forward(operator.eq)
    __ne__ = _Forward(operator.ne)
    __gt__ = _Forward(operator.gt)
    __ge__ = _Forward(operator.ge)
    __hash__ = _Forward(hash)
    __call__ = _Forward(lambda target, *args, **kwargs: target(*args, **kwargs))
    __instancecheck__ = _Forward(lambda target, other: isinstance(other, target))
    __subclasscheck__ = _Forward(lambda target, other: issubclass(other, target))

    # ---- containers and iteration ------------------------------------------------
    __len__ = _Forward(len)
    __length_hint__ = _Forward(operator.length_hint)
    __getitem__ = _Forward(operator.getitem)
    __setitem__ = _Forward(operator.setitem)
    __delitem__ = _Forward(operator.delitem)
    __contains__ = _Forward(operator.contains)
    __iter__ = _Forward(iter)
    __next__ = _Forward(next)
    __reversed__ = _Forward(reversed)

    # ---- context managers and async protocols (the object's own methods) --------
    __enter__ = _Forward()
    __exit__ = _Forward()
    __aenter__ = _Forward()
    __aexit__ = _Forward()
    __await__ = _Forward()
    __aiter__ = _Forward()
    __anext__ = _Forward()

    # ---- arithmetic: binary, reflected, in place, unary ---------------------------
    __add__ = _Forward(operator.add)
    __sub__ = _Forward(operator.sub)
    __mul__ = _Forward(operator.mul)
    __matmul__ = _Forward(operator.matmul)
    __truediv__ = _Forward(operator.truediv)
    __floordiv__ = _Forward(operator.floordiv)
    __mod__ = _Forward(operator.mod)
    __divmod__ = _Forward(divmod)
    __pow__ = _Forward(pow)
    __lshift__ = _Forward(operator.lshift)
    __rshift__ = _Forward(operator.rshift)
    __and__ = _Forward(operator.and_)
    __xor__ = _Forward(operator.xor)
    __or__ = _Forward(operator.or_)

    __radd__ = _Forward(_reflected(operator.add))
    __rsub__ = _Forward(_reflected(operator.sub))
    __rmul__ = _Forward(_reflected(operator.mul))
    __rmatmul__ = _Forward(_reflected(operator.matmul))
    __rtruediv__ = _Forward(_reflected(operator.truediv))
    __rfloordiv__ = _Forward(_reflected(operator.floordiv))
    __rmod__ = _Forward(_reflected(operator.mod))
    __rdivmod__ = _Forward(_reflected(divmod))
    __rpow__ = _Forward(_reflected(pow))
    __rlshift__ = _Forward(_reflected(operator.lshift))
    __rrshift__ = _Forward(_reflected(operator.rshift))
    __rand__ = _Forward(_reflected(operator.and_))
    __rxor__ = _Forward(_reflected(operator.xor))
    __ror__ = _Forward(_reflected(operator.or_))

    __iadd__ = _ForwardInPlace(operator.iadd)
    __isub__ = _ForwardInPlace(operator.isub)
    __imul__ = _ForwardInPlace(operator.imul)
    __imatmul__ = _ForwardInPlace(operator.imatmul)
    __itruediv__ = _ForwardInPlace(operator.itruediv)
    __ifloordiv__ = _ForwardInPlace(operator.ifloordiv)
    __imod__ = _ForwardInPlace(operator.imod)
    __ipow__ = _ForwardInPlace(operator.ipow)
    __ilshift__ = _ForwardInPlace(operator.ilshift)
    __irshift__ = _ForwardInPlace(operator.irshift)
    __iand__ = _ForwardInPlace(operator.iand)
    __ixor__ = _ForwardInPlace(operator.ixor)
    __ior__ = _ForwardInPlace(operator.ior)

    __neg__ = _Forward(operator.neg)
    __pos__ = _Forward(operator.pos)
    __abs__ = _Forward(abs)
    __invert__ = _Forward(operator.invert)
