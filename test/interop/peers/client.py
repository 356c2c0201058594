"""python-websockets client driver for the interop tests.

Usage: /usr/bin/python3 client.py
Prints "READY 0" (it listens on nothing), then speaks the JSON lines of common.py, plus:
  {"op": "connect", "id", "seq", "url", ...config as in server.py}
    -> {"ev": "open", "id", ...} then messages and close as for any connection,
       or {"ev": "error", "id", "seq", "op": "connect", "error"} if the handshake fails.
"""

import asyncio

import websockets

from common import Driver, emit, options


async def main():
    driver = Driver()
    tasks = set()

    async def connect(cmd):
        try:
            ws = await websockets.connect(cmd["url"], open_timeout=10, **options(cmd))
        except Exception as error:
            emit({"ev": "error", "id": cmd["id"], "seq": cmd.get("seq"), "op": "connect", "error": f"{type(error).__name__}: {error}"})
            return
        await driver.add(cmd["id"], ws).run()

    print("READY 0", flush=True)
    async for cmd in driver.commands():
        if cmd["op"] == "connect":
            task = asyncio.get_running_loop().create_task(connect(cmd))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        else:
            driver.dispatch(cmd)
    for task in list(tasks):
        task.cancel()
    emit({"ev": "exit"})


if __name__ == "__main__":
    asyncio.run(main())
