"""pybbi on remote bigWig and bigBed files, in helper processes.

pybbi reads an http(s) URL itself (the UCSC ``udc`` layer inside it), and that layer ends the
whole process (``exit()``) when a server misbehaves while it reads: it ignores Range, cuts an
answer short, or goes away after the file was opened. A probe before the first open cannot
prevent the later cases. So pybbi never opens a URL in the server's process: :class:`RemoteBbi`
offers the calls the generators use (``chromsizes``, ``is_bigwig``/``is_bigbed``, ``fetch``,
``fetch_intervals``, ``close``) and runs each in a helper process (``python -m
tilesets.formats.bbiworker``) that holds the pybbi handles. When a helper dies or takes longer
than its deadline, the call fails with a RemoteError naming the URL (without credentials), the
helper is replaced at the next call, and the server goes on.

``WORKERS`` helpers are started per server process when the first remote bbi file is opened
(each takes one call at a time; a call waits for a free one). A helper keeps at most
``HANDLES_PER_WORKER`` open handles, reopening a URL when it needs it again (after a restart
too). Messages between the processes are pickled, each preceded by its length; the helper's
C-level stdout is sent to stderr so nothing a library prints can garble them.
"""

import itertools
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict

WORKERS = 2
HANDLES_PER_WORKER = 32
START_SECONDS = 30.0  # the longest a helper may take to start (import pybbi and numpy)
_LENGTH = struct.Struct("<Q")
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_ERRORS = {"KeyError": KeyError, "ValueError": ValueError, "IndexError": IndexError, "TypeError": TypeError}


class WorkerFailure(Exception):
    """A helper died, did not answer in time or sent garbage (it has been stopped)."""


# --- the server's side --------------------------------------------------------------------


class _Worker:
    """One helper process and the pipe pair to it; one call at a time."""

    def __init__(self, udc_folder):
        # ``-m`` from the project folder puts that folder first on the helper's import path.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tilesets.formats.bbiworker", udc_folder],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=_ROOT,
        )
        self.ready = False  # the helper says so once it has imported pybbi

    def call(self, message, deadline):
        try:
            if not self.ready:
                self._receive(START_SECONDS)
                self.ready = True
            payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.write(_LENGTH.pack(len(payload)) + payload)
            self.process.stdin.flush()
            return self._receive(deadline)
        except (OSError, EOFError, ValueError, pickle.UnpicklingError, struct.error) as exc:
            self.stop()
            raise WorkerFailure(str(exc) or type(exc).__name__) from None

    def _receive(self, seconds):
        ends = time.monotonic() + seconds
        size = _LENGTH.unpack(self._read(_LENGTH.size, ends, seconds))[0]
        return pickle.loads(self._read(size, ends, seconds))

    def _read(self, count, ends, seconds):
        fd = self.process.stdout.fileno()
        chunks, got = [], 0
        while got < count:
            left = ends - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise OSError(f"no answer within {seconds:g} s")
            chunk = os.read(fd, min(count - got, 1 << 20))
            if not chunk:
                raise EOFError("the helper process ended")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def alive(self):
        return self.process.poll() is None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.process.stdin, self.process.stdout):
            try:
                stream.close()
            except OSError:
                pass


class _Pool:
    """``WORKERS`` helpers for one udc cache folder, started on first use."""

    def __init__(self, udc_folder, size):
        self.udc_folder = udc_folder
        self._idle = queue.LifoQueue()
        for _ in range(size):
            self._idle.put(None)  # a slot whose helper has not been started (or was stopped)

    def call(self, message, deadline, start=True):
        """The helper's answer to ``message``; without ``start`` no helper is started for it
        (the answer is then ``("ok", None)``)."""
        worker = self._idle.get()
        try:
            if worker is None or not worker.alive():
                if worker is not None:
                    worker.stop()  # ended while idle: reap it and close its pipes
                    worker = None
                if not start:
                    return ("ok", None)
                worker = _Worker(self.udc_folder)
            return worker.call(message, deadline)
        except WorkerFailure:
            worker = None
            raise
        finally:
            self._idle.put(worker)

    def stop(self):
        """Stop the idle helpers (tests; a helper busy with a call is stopped by its caller)."""
        workers = []
        while True:
            try:
                workers.append(self._idle.get_nowait())
            except queue.Empty:
                break
        for worker in workers:
            if worker is not None:
                worker.stop()
            self._idle.put(None)


_pools = {}
_pools_lock = threading.Lock()


def _pool(udc_folder):
    """This process's helpers for ``udc_folder``. A new folder (the configuration changed)
    stops the idle helpers of the others."""
    key = (os.getpid(), udc_folder)
    with _pools_lock:
        pool = _pools.get(key)
        if pool is None:
            pool = _pools[key] = _Pool(udc_folder, WORKERS)
            old = [other for other in _pools if other != key]
            retired = [_pools.pop(other) for other in old if other[0] == key[0]]
        else:
            retired = []
    for other in retired:
        other.stop()
    return pool


def stop_workers():
    """Stop this process's idle helpers (they start again when needed)."""
    with _pools_lock:
        pools = [pool for (pid, _), pool in _pools.items() if pid == os.getpid()]
    for pool in pools:
        pool.stop()


_ids = itertools.count(1)


class RemoteBbi:
    """A pybbi handle on ``url`` that lives in a helper process (see the module docstring).

    ``shown`` is the URL as messages may show it; ``deadline`` the seconds one call may take.
    Raises RemoteError (an OSError naming the URL) when the helper fails or pybbi meets an I/O
    error, and what pybbi raised otherwise (KeyError, ValueError, IndexError, TypeError)."""

    def __init__(self, url, shown, udc_folder, deadline):
        self._url = url
        self.shown = shown
        self._pool = _pool(udc_folder)
        self._deadline = deadline
        self._id = next(_ids)
        facts = self._call("open")
        self.chromsizes = facts["chromsizes"]
        self.is_bigwig = facts["is_bigwig"]
        self.is_bigbed = facts["is_bigbed"]

    def _call(self, operation, *arguments, **options):
        from .remote_config import RemoteError

        message = (operation, self._id, self._url, arguments, options)
        try:
            answer = self._pool.call(message, self._deadline, start=operation != "close")
        except WorkerFailure as exc:
            raise RemoteError(f"{self.shown}: reading it failed ({exc}; the server may have cut the "
                              "answer short, stopped answering or ignored Range)", reason="closed") from None
        if answer[0] == "ok":
            return answer[1]
        _, kind, message = answer
        message = message.replace(self._url, self.shown)
        if kind in _ERRORS:
            raise _ERRORS[kind](message)
        raise RemoteError(f"{self.shown}: {message}", reason="error")  # HTTPError, OSError, ...

    def fetch(self, chrom, start, end, **options):
        return self._call("fetch", chrom, start, end, **options)

    def fetch_intervals(self, chrom, start, end, iterator=True):
        """The intervals as a list (whatever ``iterator`` says: they cross a process boundary)."""
        return self._call("intervals", chrom, start, end)

    def close(self):
        try:
            self._call("close")
        except (OSError, KeyError, ValueError):
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


# --- the helper's side --------------------------------------------------------------------


def _serve(udc_folder):
    import bbi

    from tilesets.formats.udc import point_udc_cache

    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what C code prints goes to stderr, never into the answers
    requests = sys.stdin.buffer
    try:
        os.makedirs(udc_folder, exist_ok=True)
        point_udc_cache(udc_folder)
    except OSError:
        pass
    handles = OrderedDict()  # id -> pybbi handle, least recently used first

    def send(answer):
        payload = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        channel.write(_LENGTH.pack(len(payload)) + payload)
        channel.flush()

    def handle(key, url):
        found = handles.get(key)
        if found is None:
            found = handles[key] = bbi.open(url)
            while len(handles) > HANDLES_PER_WORKER:
                handles.popitem(last=False)[1].close()
        handles.move_to_end(key)
        return found

    def run(operation, key, url, arguments, options):
        if operation == "close":
            found = handles.pop(key, None)
            if found is not None:
                found.close()
            return None
        opened = handle(key, url)
        if operation == "open":
            return {"chromsizes": dict(opened.chromsizes), "is_bigwig": bool(opened.is_bigwig),
                    "is_bigbed": bool(opened.is_bigbed)}
        if operation == "fetch":
            return opened.fetch(*arguments, **options)
        if operation == "intervals":
            return list(opened.fetch_intervals(*arguments, iterator=True))
        raise ValueError(f"unknown operation {operation!r}")

    send(("ready",))
    while True:
        head = requests.read(_LENGTH.size)
        if len(head) < _LENGTH.size:
            return
        message = pickle.loads(requests.read(_LENGTH.unpack(head)[0]))
        try:
            answer = ("ok", run(*message))
        except Exception as exc:  # pybbi's errors go back to the caller
            answer = ("error", type(exc).__name__, " ".join(str(exc).split()) or type(exc).__name__)
        send(answer)


if __name__ == "__main__":
    _serve(sys.argv[1])
