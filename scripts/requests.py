#!/usr/bin/env python3
"""Sends a fixed number of keep-alive HTTP/1.1 requests, for instruction counts per request
(`scripts/profile-requests.sh`): COUNT requests spread over CONNECTIONS connections, each
waiting for its answer before the next, like wrk does. Exits non-zero on any non-2xx answer.

    requests.py URL COUNT CONNECTIONS [bearer-token] [POST body-template]

With POST and a body template, each request POSTs the template as application/scim+json
with `{n}` replaced by a number unique to that request (so each creates a new user).
"""
import socket
import sys
import threading
import urllib.parse


def run(url, count, token, failures, method, template, first):
    parts = urllib.parse.urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    head = f"{method} {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    sock = socket.create_connection((parts.hostname, parts.port))
    buffer = b""
    for i in range(count):
        if template is None:
            request = (head + "\r\n").encode()
        else:
            body = template.replace("{n}", str(first + i)).encode()
            request = (head + "Content-Type: application/scim+json\r\n"
                       + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        sock.sendall(request)
        while b"\r\n\r\n" not in buffer:
            buffer += sock.recv(65536)
        header, _, buffer = buffer.partition(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(buffer) < length:
            buffer += sock.recv(65536)
        buffer = buffer[length:]
        if not 200 <= status < 300:
            failures.append(status)
    sock.close()


def main():
    url, count, connections = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    token = sys.argv[4] if len(sys.argv) > 4 and sys.argv[4] else None
    method = sys.argv[5] if len(sys.argv) > 5 else "GET"
    template = sys.argv[6] if len(sys.argv) > 6 else None
    failures = []
    per_connection = count // connections
    threads = [
        threading.Thread(target=run, args=(url, per_connection, token, failures, method,
                                           template, c * per_connection))
        for c in range(connections)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        sys.exit(f"{len(failures)} non-2xx answers, first {failures[0]}")


main()
