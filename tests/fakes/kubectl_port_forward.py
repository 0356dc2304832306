#!/usr/bin/env python3
"""A stand-in for ``kubectl port-forward``: the local target has no pods to forward to, so this
forwards a fresh loopback port to $FAKE_FORWARD_TARGET (the local gateway) and prints what kubectl
prints. It records its argv to $FAKE_KUBECTL_LOG so the self-test can check what would have run."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading


def pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def main() -> None:
    with open(os.environ["FAKE_KUBECTL_LOG"], "a") as log:
        log.write(json.dumps(sys.argv[1:]) + "\n")
    host, port = os.environ["FAKE_FORWARD_TARGET"].rsplit(":", 1)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(f"Forwarding from 127.0.0.1:{listener.getsockname()[1]} -> 8080", flush=True)
    while True:
        client, _ = listener.accept()
        upstream = socket.create_connection((host, int(port)))
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=(a, b), daemon=True).start()


if __name__ == "__main__":
    main()
