"""The baseline for the S13 benchmark: a bare asyncio server that echoes Diameter frames.

It frames messages by their header length and answers each with the same bytes, R bit
cleared, so it does the minimum any Diameter server on asyncio must do. S13 throughput
divided by this is the share of the ceiling that our parsing, lookup and encoding keep.

Run alone: `python bench/echo_server.py --port 3869`.
"""

from __future__ import annotations

import argparse
import asyncio
from multiprocessing.connection import Connection


class EchoProtocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.pending = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.pending + data if self.pending else data
        out = []
        pos, size = 0, len(buf)
        while size - pos >= 20:
            length = int.from_bytes(buf[pos + 1 : pos + 4], "big")
            if length < 20:
                assert self.transport is not None
                self.transport.close()
                return
            if size - pos < length:
                break
            message = buf[pos : pos + length]
            out.append(message[:4] + bytes((message[4] & 0x7F,)) + message[5:])
            pos += length
        self.pending = buf[pos:]
        if out and self.transport is not None:
            self.transport.write(b"".join(out))


async def start_echo_server(host: str = "127.0.0.1", port: int = 0) -> asyncio.Server:
    loop = asyncio.get_running_loop()
    return await loop.create_server(EchoProtocol, host, port, backlog=1024)


def serve_in_process(ready: Connection) -> None:
    """Child-process entry point: report the bound port through `ready`, then serve."""

    async def main() -> None:
        server = await start_echo_server()
        ready.send(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3869)
    args = parser.parse_args()

    async def run() -> None:
        server = await start_echo_server(port=args.port)
        print(f"echo server on 127.0.0.1:{args.port}")
        await server.serve_forever()

    asyncio.run(run())


if __name__ == "__main__":
    main()
