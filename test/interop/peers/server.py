"""python-websockets server for the interop tests.

Usage: /usr/bin/python3 server.py '<json config>'
Config: {"compression": "none"|"default", "subprotocols": [...], "max_size": n|null,
         "ping_interval": seconds|null, "ping_timeout": seconds, "close_timeout": seconds}
Listens on 127.0.0.1 port 0, prints "READY <port>", then speaks the JSON lines of common.py.
A connection's id is the path it was opened with (the test picks a unique one).
"""

import asyncio
import json
import sys

import websockets

from common import Driver, emit, options


async def main():
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    driver = Driver()

    async def handler(ws):
        await driver.add(ws.path, ws).run()

    server = await websockets.serve(handler, "127.0.0.1", 0, **options(config))
    port = server.sockets[0].getsockname()[1]
    print(f"READY {port}", flush=True)
    async for cmd in driver.commands():
        driver.dispatch(cmd)
    server.close()
    await server.wait_closed()
    emit({"ev": "exit"})


if __name__ == "__main__":
    asyncio.run(main())
