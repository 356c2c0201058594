"""Shared code of the python-websockets interop peers (server.py, client.py).

A peer is driven by the Node test through JSON lines: commands on stdin, events on stdout.
Only the websockets 10.x "legacy" asyncio API is used (Debian's python3-websockets 10.4).

Events (stdout), each with the connection "id":
  {"ev": "open", "id", "subprotocol", "extensions", "request_extensions", "response_extensions", "path"}
  {"ev": "message", "id", "type": "text"|"binary", "len", "sha256", "b64"?}   (b64 up to 4 KiB)
  {"ev": "close", "id", "code", "reason", "exception"}
  {"ev": "done", "id", "seq", "op", ...}   a command finished
  {"ev": "error", "id", "seq", "op", "error"}   a command failed
Commands (stdin): {"op", "id", "seq", ...}: see Conn.execute; peers add their own.
"""

import asyncio
import base64
import hashlib
import json
import sys

from websockets.exceptions import ConnectionClosedError, ConnectionClosedOK
from websockets.frames import Close

PERIOD = 251
UNIT = "a\u00e9\u2713\U0001f642"  # 1 + 2 + 3 + 4 UTF-8 bytes


def binary(size, seed=0):
    """Same bytes as binaryPayload() in ../helpers.ts."""
    block = bytes((i * 7 + seed) % 256 for i in range(PERIOD))
    return (block * (size // PERIOD + 1))[:size]


def text(size):
    """Same text as textPayload() in ../helpers.ts: exactly `size` UTF-8 bytes."""
    return UNIT * (size // 10) + "x" * (size % 10)


def emit(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def describe(message):
    raw = message.encode("utf-8") if isinstance(message, str) else bytes(message)
    event = {
        "type": "text" if isinstance(message, str) else "binary",
        "len": len(raw),
        "sha256": hashlib.sha256(raw).hexdigest(),
    }
    if len(raw) <= 4096:
        event["b64"] = base64.b64encode(raw).decode("ascii")
    return event


def decode(kind, b64):
    raw = base64.b64decode(b64)
    return raw.decode("utf-8") if kind == "text" else raw


def payload(cmd):
    kind = cmd["type"]
    if "size" in cmd:
        return text(cmd["size"]) if kind == "text" else binary(cmd["size"], cmd.get("seed", 0))
    return decode(kind, cmd.get("b64", ""))


def header(headers, name):
    value = headers.get(name)
    return None if value is None else str(value)


class Conn:
    """One WebSocket connection: reports what arrives, runs commands in order."""

    def __init__(self, cid, ws):
        self.id = cid
        self.ws = ws
        self.commands = asyncio.Queue()
        self.worker = asyncio.get_running_loop().create_task(self.work())

    async def run(self):
        ws = self.ws
        emit(
            {
                "ev": "open",
                "id": self.id,
                "path": ws.path,
                "subprotocol": ws.subprotocol,
                "extensions": [ext.name for ext in ws.extensions],
                "request_extensions": header(ws.request_headers, "Sec-WebSocket-Extensions"),
                "response_extensions": header(ws.response_headers, "Sec-WebSocket-Extensions"),
            }
        )
        exception = "ConnectionClosedOK"
        try:
            async for message in ws:
                emit({"ev": "message", "id": self.id, **describe(message)})
        except ConnectionClosedError:
            exception = "ConnectionClosedError"
        except ConnectionClosedOK:
            pass
        await ws.wait_closed()
        emit(
            {
                "ev": "close",
                "id": self.id,
                "code": ws.close_code,
                "reason": ws.close_reason,
                "exception": exception,
            }
        )
        # Let queued commands report their failure, then stop.
        await asyncio.sleep(0.05)
        self.worker.cancel()

    async def work(self):
        while True:
            cmd = await self.commands.get()
            try:
                result = await self.execute(cmd)
                emit({"ev": "done", "id": self.id, "seq": cmd.get("seq"), "op": cmd["op"], **(result or {})})
            except Exception as error:  # reported to the test, which decides
                emit(
                    {
                        "ev": "error",
                        "id": self.id,
                        "seq": cmd.get("seq"),
                        "op": cmd["op"],
                        "error": f"{type(error).__name__}: {error}",
                    }
                )

    async def execute(self, cmd):
        ws = self.ws
        op = cmd["op"]
        if op == "send":
            await ws.send(payload(cmd))
        elif op == "fragments":
            # An iterable is sent as a fragmented message, one frame per item.
            await ws.send([decode(cmd["type"], part) for part in cmd["parts"]])
        elif op == "burst":
            for i in range(cmd["count"]):
                message = f"#{i}"
                await ws.send(message if i % 2 == 0 else message.encode())
        elif op == "raw_frame":
            # A frame as given, e.g. a text frame with invalid UTF-8 (a protocol error on purpose).
            await ws.write_frame(cmd.get("fin", True), cmd["opcode"], base64.b64decode(cmd["b64"]))
        elif op == "ping":
            # ping() resolves once a pong with the same payload arrives.
            waiter = await ws.ping(base64.b64decode(cmd.get("b64", "")))
            latency = await asyncio.wait_for(waiter, cmd.get("timeout", 10))
            return {"latency": latency}
        elif op == "close":
            if "code" in cmd:
                await ws.close(cmd["code"], cmd.get("reason", ""))
            else:
                # websockets' close() always sends a code; send an empty close frame (code 1005).
                await ws.write_close_frame(Close(1005, ""), b"")
                await ws.wait_closed()
        elif op == "abort":
            ws.transport.abort()
        elif op == "pause_reading":
            ws.transport.pause_reading()
        elif op == "resume_reading":
            ws.transport.resume_reading()
        elif op == "status":
            return {"open": ws.open, "latency": ws.latency, "state": ws.state.name}
        else:
            raise ValueError(f"unknown op {op}")
        return None


class Driver:
    """Reads commands from stdin and hands them to connections by id."""

    def __init__(self):
        self.conns = {}

    def add(self, cid, ws):
        conn = Conn(cid, ws)
        self.conns[cid] = conn
        return conn

    async def commands(self):
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=1 << 26)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        while True:
            line = await reader.readline()
            if not line:
                return  # stdin closed: the test is done with us
            cmd = json.loads(line)
            if cmd["op"] == "exit":
                return
            yield cmd

    def dispatch(self, cmd):
        conn = self.conns.get(cmd.get("id"))
        if conn is None:
            emit({"ev": "error", "id": cmd.get("id"), "seq": cmd.get("seq"), "op": cmd["op"], "error": "no such connection"})
        else:
            conn.commands.put_nowait(cmd)


def options(config):
    """websockets.serve / websockets.connect keyword arguments from the test's JSON config."""
    return {
        "compression": "deflate" if config.get("compression") == "default" else None,
        "subprotocols": config.get("subprotocols"),
        "max_size": config.get("max_size"),
        "ping_interval": config.get("ping_interval"),
        "ping_timeout": config.get("ping_timeout", 5),
        "close_timeout": config.get("close_timeout", 5),
    }
