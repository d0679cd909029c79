"""Network helpers shared by the test suite and the benchmarks."""

import socket


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for throwaway servers)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
