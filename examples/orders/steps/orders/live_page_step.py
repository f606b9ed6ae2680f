"""GET /orders/live: a page that shows orders as they are processed, over the stream WebSocket.
GET /static/stream-client.js serves pyiii's browser stream client to it."""

import os
from importlib import resources
from typing import Any

from pyiii.steps import http

config = {
    "name": "LivePage",
    "description": "Live view of processed orders",
    "triggers": [http("GET", "/orders/live"), http("GET", "/static/stream-client.js")],
    "virtualSubscribes": ["orders stream"],
    "flows": ["orders"],
}

PAGE = """<!doctype html>
<meta charset="utf-8"><title>Orders, live</title>
<style>body{font:14px system-ui;margin:2em}td,th{padding:4px 10px;text-align:left}.flagged{color:#b00}</style>
<h1>Orders, live</h1><p id="state">connecting…</p>
<table><thead><tr><th>id</th><th>customer</th><th>item</th><th>qty</th><th>status</th><th>fraud score</th></tr></thead>
<tbody id="rows"></tbody></table>
<script type="module">
import { StreamClient } from '/static/stream-client.js'
const client = new StreamClient(`ws://${location.hostname}:__STREAMS_PORT__/`)
client.onConnectionState((s) => { document.getElementById('state').textContent = s })
// Order fields come from whoever posted the order: text nodes only, never parsed as HTML.
const cell = (value) => {
  const td = document.createElement('td')
  td.textContent = String(value ?? '')
  return td
}
client.subscribeGroup('orders', 'all', (orders) => {
  document.getElementById('rows').replaceChildren(...orders.map((o) => {
    const tr = document.createElement('tr')
    if (typeof o.status === 'string') tr.className = o.status  // .flagged rows are red
    tr.append(cell(o.id), cell(o.customer), cell(o.item), cell(o.quantity), cell(o.status), cell(o.fraud?.score ?? '–'))
    return tr
  }))
})
</script>
"""


def handler(request: Any) -> dict[str, Any]:
    if request.path.endswith(".js"):
        script = (resources.files("pyiii") / "static" / "stream-client.js").read_text(encoding="utf-8")
        return {"status": 200, "headers": {"content-type": "text/javascript; charset=utf-8"}, "body": script}
    page = PAGE.replace("__STREAMS_PORT__", os.environ.get("STREAMS_PORT", "3112"))
    return {"status": 200, "headers": {"content-type": "text/html; charset=utf-8", "x-content-type-options": "nosniff"},
            "body": page}
