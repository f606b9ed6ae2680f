"""GET /agent: the page (stream-client.js for live updates, iii-browser-worker.js to call the
agent through the RBAC listener). GET /static/:file serves those two modules from pyiii."""

import os
from importlib import resources
from pathlib import Path
from typing import Any

from pyiii.steps import ApiRequest, http

config = {
    "name": "AgentPage",
    "description": "The agent's web page and the browser modules it imports",
    "triggers": [http("GET", "/agent"), http("GET", "/static/:file")],
    "virtualSubscribes": ["agent stream"],
    "flows": ["agent"],
}

PAGE = Path(__file__).resolve().parents[2] / "page" / "index.html"
MODULES = {"stream-client.js", "iii-browser-worker.js"}


def handler(request: ApiRequest) -> dict[str, Any]:
    if request.path.startswith("/static/"):
        name = request.path_params.get("file", "")
        if name not in MODULES:
            return {"status": 404, "body": {"error": "not found"}}
        script = (resources.files("pyiii") / "static" / name).read_text(encoding="utf-8")
        return {"status": 200, "headers": {"content-type": "text/javascript; charset=utf-8"}, "body": script}
    page = (PAGE.read_text(encoding="utf-8")
            .replace("__STREAMS_PORT__", os.environ.get("STREAMS_PORT", "3112"))
            .replace("__BROWSER_PORT__", os.environ.get("BROWSER_PORT", "49135"))
            .replace("__BROWSER_TOKEN__", os.environ.get("AGENT_BROWSER_TOKEN", "demo-token")))
    return {"status": 200, "headers": {"content-type": "text/html; charset=utf-8"}, "body": page}
