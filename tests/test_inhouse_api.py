"""werkzeug-style unit tests of the in-house API (issue 3), ordered by hand-offs, not sleeps."""

import asyncio
import gc
import threading

import greenlet
import pytest

from harness.inhouse import seed
from harness.inhouse.local import Local, LocalManager, LocalProxy, LocalStack, release_local


def in_thread(func):
    """Run ``func`` in a new thread and return its result (join is the hand-off)."""
    box = []
    thread = threading.Thread(target=lambda: box.append(func()))
    thread.start()
    thread.join()
    return box[0]


def test_basic_local_isolated_between_threads_and_greenlets():
    ns = Local()
    ns.foo = 0
    assert in_thread(lambda: getattr(ns, "foo", "missing")) == "missing"
    assert greenlet.greenlet(lambda: getattr(ns, "foo", "missing")).switch() == "missing"

    def set_in_greenlet():
        ns.foo = 42
        return ns.foo

    assert greenlet.greenlet(set_in_greenlet).switch() == 42
    assert ns.foo == 0
    del ns.foo
    with pytest.raises(AttributeError):
        _ = ns.foo
    with pytest.raises(AttributeError):
        del ns.foo


def test_asyncio_tasks_are_isolated_and_start_fresh():
    ns = Local()

    async def main():
        ns.value = "main"

        async def child():
            seen = getattr(ns, "value", "missing")
            ns.value = "child"
            return seen

        seen = await asyncio.create_task(child())
        return seen, ns.value

    assert asyncio.run(main()) == ("missing", "main")


def test_iteration_and_release():
    ns = Local()
    ns.a, ns.b = 1, 2
    assert dict(ns) == {"a": 1, "b": 2}
    assert in_thread(lambda: dict(ns)) == {}
    release_local(ns)
    assert dict(ns) == {}
    with pytest.raises(AttributeError):
        _ = ns.a


def test_finished_workers_data_is_dropped():
    ns = Local()
    stack = LocalStack()

    def work():
        ns.x = 1
        stack.push(1)

    for _ in range(50):
        in_thread(work)
        greenlet.greenlet(work).switch()
    gc.collect()
    assert len(ns._storage) == 0 and len(stack._local._storage) == 0


def test_seed_local_keeps_a_dead_threads_data():
    ns = seed.Local()
    in_thread(lambda: setattr(ns, "x", 1))
    assert len(ns.__storage__) == 1  # the bug the fixed version removes


def test_local_stack():
    stack = LocalStack()
    assert stack.top is None and stack.pop() is None
    assert stack.push(42) == [42]
    stack.push(23)
    assert stack.top == 23
    assert in_thread(lambda: stack.top) is None
    assert stack.pop() == 23 and stack.top == 42
    assert stack.pop() == 42
    assert stack.top is None and stack.pop() is None
    stack.push(1)
    release_local(stack)
    assert stack.top is None


def test_local_proxy_operations():
    ns = Local()
    ns.value = [1, 2]
    proxy = ns("value")
    assert isinstance(proxy, LocalProxy)
    assert proxy == [1, 2] and proxy != [3] and len(proxy) == 2 and proxy[0] == 1 and 2 in proxy
    assert list(proxy) == [1, 2] and str(proxy) == "[1, 2]" and repr(proxy) == "[1, 2]" and bool(proxy)
    proxy.append(3)
    proxy[0] = 9
    assert ns.value == [9, 2, 3]
    assert proxy + [4] == [9, 2, 3, 4]
    with pytest.raises(TypeError):
        hash(proxy)


def test_proxy_to_stack_top_and_attribute_and_callable():
    stack = LocalStack()
    top, name = stack(), stack("name")

    class Item:
        def __init__(self, name):
            self.name = name

        def __call__(self, x):
            return f"{self.name}:{x}"

    stack.push(Item("one"))
    assert name == "one" and top("x") == "one:x"
    top.name = "uno"
    assert stack.top.name == "uno"
    assert LocalProxy(lambda: 5) + 1 == 6


def test_unbound_proxy():
    ns = Local()
    proxy = ns("missing", unbound_message="no request")
    assert repr(proxy) == "<LocalProxy unbound>" and not proxy
    assert (proxy == 1) is False
    with pytest.raises(RuntimeError, match="no request"):
        str(proxy)
    with pytest.raises(RuntimeError):
        _ = proxy.attribute
    with pytest.raises(RuntimeError):
        proxy()
    with pytest.raises(RuntimeError, match="object is not bound"):
        _ = LocalStack()().x


def test_local_manager_cleans_up_after_each_request():
    ns, stack = Local(), LocalStack()
    manager = LocalManager([ns, stack])
    assert repr(manager) == "<LocalManager storages: 2>"
    assert LocalManager(ns).locals == [ns]

    @manager.middleware
    def app(environ, start_response):
        ns.request = environ["PATH_INFO"]
        stack.push(ns.request)
        return [stack.top.encode()]

    assert app({"PATH_INFO": "/x"}, None) == [b"/x"]
    assert dict(ns) == {} and stack.top is None
