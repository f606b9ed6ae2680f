"""``workers/http/router.py``, the route trie, on its own: static before parameter with
backtracking, the 404 / 405 decision (the node the path reaches decides), conflicting shapes,
replacement and removal by binding id. (The basic rules and bad patterns are also exercised in
tests/integration/http/test_shutdown_and_router.py.)"""

from __future__ import annotations

import pytest

from pyiii.core.triggers import Binding
from pyiii.workers.http.paths import request_segments
from pyiii.workers.http.router import Route, RouteConflict, Router


def route(binding_id: str, pattern: str, method: str = "GET") -> Route:
    return Route(method, pattern, (), binding_id, f"fn::{binding_id}", Binding(binding_id, "http", "f"))


def build(*routes: Route) -> Router:
    router = Router()
    for r in routes:
        router.add(r)
    return router


def lookup(router: Router, path: str, method: str = "GET") -> str | tuple[str, list[str]]:
    """``"404"``, ``"405"`` (as the pipeline decides them) or ``(binding id, parameter values)``."""
    found = router.match(request_segments(path))
    if found is None:
        return "404"
    if method not in found.routes:
        return "405"
    return found.routes[method].binding_id, found.values


def test_parameter_names_come_from_the_pattern_in_both_spellings() -> None:
    r = route("b", "/orgs/:org/repos/{repo}")
    build(r)
    assert r.param_names == ("org", "repo")
    assert lookup(build(route("b", "orgs/:org")), "/orgs/acme") == ("b", ["acme"])  # leading / optional


def test_static_wins_over_a_parameter_at_the_same_depth() -> None:
    router = build(route("param", "/files/:name"), route("static", "/files/index"))
    assert lookup(router, "/files/index") == ("static", [])
    assert lookup(router, "/files/other") == ("param", ["other"])


def test_backtracking_from_a_static_branch_that_dead_ends() -> None:
    router = build(route("deep", "/a/:x/c/:y"), route("static", "/a/b/d"), route("mixed", "/a/b/:z/e"))
    assert lookup(router, "/a/b/d") == ("static", [])
    assert lookup(router, "/a/b/c/9") == ("deep", ["b", "9"])  # /a/b has no c/:y: back to /a/:x
    assert lookup(router, "/a/b/q/e") == ("mixed", ["q"])
    assert lookup(router, "/a/b/c/9/extra") == "404"


def test_overlapping_shapes_prefer_the_static_segment_first() -> None:
    router = build(route("x_then_static", "/a/:x/c"), route("static_then_y", "/a/b/:y"))
    assert lookup(router, "/a/b/c") == ("static_then_y", ["c"])
    assert lookup(router, "/a/z/c") == ("x_then_static", ["z"])


def test_404_and_405() -> None:
    router = build(route("get", "/items/:id"), route("post", "/items", "POST"))
    assert lookup(router, "/items/1", "DELETE") == "405"
    assert lookup(router, "/items", "GET") == "405"
    assert lookup(router, "/nothing") == "404"
    assert lookup(router, "/") == "404"  # the root has no route
    assert lookup(router, "/items/1/2") == "404"
    assert lookup(router, "/items/") == "404"  # an empty segment never fills a parameter


def test_the_node_the_path_reaches_decides_405_without_falling_back() -> None:
    # /users/me exists for POST only: GET /users/me is a 405, never served by GET /users/:id
    router = build(route("by_id", "/users/:id"), route("me", "/users/me", "POST"))
    assert lookup(router, "/users/me", "GET") == "405"
    assert lookup(router, "/users/me", "POST") == ("me", [])
    assert lookup(router, "/users/7", "GET") == ("by_id", ["7"])


def test_intermediate_nodes_without_routes_are_not_matches() -> None:
    router = build(route("leaf", "/a/b/c"))
    assert lookup(router, "/a") == "404" and lookup(router, "/a/b") == "404"


def test_trailing_slashes_and_double_slashes_are_different_paths() -> None:
    router = build(route("plain", "/x"), route("slash", "/x/"))
    assert lookup(router, "/x") == ("plain", [])
    assert lookup(router, "/x/") == ("slash", [])
    assert lookup(router, "//x") == "404"


def test_paths_match_raw_and_parameters_stay_encoded() -> None:
    router = build(route("static", "/caf%C3%A9"), route("param", "/tag/:t"))
    assert lookup(router, "/caf%C3%A9") == ("static", [])
    assert lookup(router, "/café") == "404"  # an encoded segment never matches the text it spells
    assert lookup(router, "/tag/a%20b") == ("param", ["a%20b"])


def test_methods_of_one_path_coexist() -> None:
    router = build(*(route(m.lower(), "/r", m) for m in ("GET", "POST", "PUT", "DELETE", "PATCH")))
    found = router.match(request_segments("/r"))
    assert found is not None and sorted(found.routes) == ["DELETE", "GET", "PATCH", "POST", "PUT"]
    assert len(router) == 5


def test_conflicting_parameter_names_are_refused_and_leave_the_route_alone() -> None:
    router = build(route("a", "/u/:id"))
    with pytest.raises(RouteConflict) as raised:
        router.add(route("b", "/u/{uid}"))
    assert "GET /u/{uid}" in str(raised.value) and "'GET /u/:id'" in str(raised.value)
    router.add(route("c", "/u/{id}"))  # the same name in the other spelling is the same route: last wins
    assert lookup(router, "/u/1") == ("c", ["1"]) and len(router) == 1


def test_a_binding_that_moves_to_a_conflicting_shape_keeps_its_old_route() -> None:
    router = build(route("a", "/u/:id"), route("b", "/v"))
    with pytest.raises(RouteConflict):
        router.add(route("b", "/u/:other"))
    assert lookup(router, "/v") == ("b", []) and lookup(router, "/u/1") == ("a", ["1"])


def test_same_method_and_path_last_wins_and_the_loser_is_forgotten() -> None:
    router = build(route("old", "/p"), route("new", "/p"))
    assert lookup(router, "/p") == ("new", []) and len(router) == 1
    assert router.remove("old") is None  # it no longer holds the path: removing it changes nothing
    assert lookup(router, "/p") == ("new", [])


def test_a_binding_id_replaces_its_own_route() -> None:
    router = build(route("b", "/one"))
    router.add(route("b", "/two", "POST"))
    assert lookup(router, "/one") == "404" and lookup(router, "/two", "POST") == ("b", []) and len(router) == 1


def test_remove_returns_the_route_and_prunes_only_empty_branches() -> None:
    router = build(route("long", "/a/b/c"), route("short", "/a"), route("p", "/a/:x/d"))
    removed = router.remove("long")
    assert removed is not None and removed.pattern == "/a/b/c"
    assert "b" not in router._root.static["a"].static  # the empty branch is gone
    assert lookup(router, "/a") == ("short", []) and lookup(router, "/a/q/d") == ("p", ["q"])
    assert router.remove("long") is None and router.remove("unknown") is None
    router.remove("p")
    assert router._root.static["a"].param is None
    router.remove("short")
    assert not router._root.static and len(router) == 0
