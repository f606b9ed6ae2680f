"""The FastAPI baseline of B1/B5: the same echo handler, served directly by uvicorn."""

from __future__ import annotations

import os
from typing import Any

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/echo")
async def echo(request: Request) -> Any:
    return await request.json()


for i in range(int(os.environ.get("BENCH_ROUTES", "0"))):
    app.add_api_route(f"/r/{i}/items", echo, methods=["POST"])
    if i % 10 == 0:
        app.add_api_route(f"/p/{i}/{{id}}", echo, methods=["POST"])
