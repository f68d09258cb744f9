"""The sandbox module on its own, each feature tried in a throwaway process."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from drill.grader import sandbox

if not sys.platform.startswith("linux"):
    pytest.skip("the sandbox is Linux's", allow_module_level=True)

ROOT = Path(__file__).resolve().parent.parent


def run_script(source: str, *args: str) -> str:
    """Run `source` in a fresh interpreter that can import drill; its stdout."""
    prelude = f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
    result = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(source), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.skipif(sandbox.landlock_abi() == 0, reason="this kernel has no Landlock")
def test_landlock_allows_reading_everywhere_and_writing_only_scratch(tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (tmp_path / "notes.txt").write_text("readable")
    out = run_script(
        """
        import os
        from drill.grader import sandbox
        tmp, scratch = sys.argv[1], sys.argv[2]
        ruleset = sandbox.landlock_ruleset(sandbox.landlock_abi(), scratch, deny_tcp=True)
        sandbox.restrict_self(ruleset)
        print(open(os.path.join(tmp, "notes.txt")).read())
        open(os.path.join(scratch, "ok.txt"), "w").write("fine")
        for target in (os.path.join(tmp, "new.txt"), os.path.join(tmp, "notes.txt")):
            try:
                open(target, "a")
                print("WROTE", target)
            except PermissionError:
                print("refused")
        try:
            os.rename(os.path.join(scratch, "ok.txt"), os.path.join(tmp, "moved.txt"))
            print("MOVED")
        except OSError:
            print("refused")
        """,
        str(tmp_path),
        str(scratch),
    )
    assert out.split() == ["readable", "refused", "refused", "refused"]
    assert (scratch / "ok.txt").read_text() == "fine"
    assert not (tmp_path / "new.txt").exists()


def test_a_subreaper_kills_double_forked_descendants(tmp_path):
    marker = str(tmp_path)
    out = run_script(
        """
        import os, subprocess, time
        from drill.grader import sandbox
        assert sandbox.become_subreaper()
        marker = sys.argv[1]
        if os.fork() == 0:
            os.setsid()
            if os.fork() == 0:
                subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", marker],
                                 start_new_session=True)
                time.sleep(300)
            os._exit(0)
        def alive():
            found = 0
            for name in os.listdir("/proc"):
                if not name.isdigit() or name == str(os.getpid()):
                    continue
                try:
                    stat = open(f"/proc/{name}/stat").read()
                    cmdline = open(f"/proc/{name}/cmdline", "rb").read()
                except OSError:
                    continue
                if marker.encode() in cmdline and stat[stat.rindex(")") + 2] != "Z":
                    found += 1
            return found
        deadline = time.monotonic() + 60
        while alive() < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        before = alive()
        sandbox.kill_descendants()
        print(before, alive())
        """,
        marker,
    )
    before, after = map(int, out.split())
    assert before >= 2  # the sleeping copy of the script and the sleeper it started
    assert after == 0


def test_namespaces_isolate_the_network_and_number_the_children_from_one():
    out = run_script(
        """
        import os, socket
        from drill.grader import sandbox
        if not sandbox.enter_namespaces():
            print("unavailable")
            sys.exit(0)
        pid = os.fork()
        if pid == 0:
            try:
                socket.create_connection(("127.0.0.1", 9), timeout=5)
                result = "connected"
            except OSError as error:
                result = type(error).__name__
            print(os.getpid(), os.getuid() == int(sys.argv[1]), result, flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        """,
        str(__import__("os").getuid()),
    )
    if out.strip() == "unavailable":
        pytest.skip("unprivileged user namespaces are not allowed here")
    assert out.split() == ["1", "True", "OSError"]


def test_the_socket_filter_refuses_unix_and_internet_sockets_and_nothing_else():
    out = run_script(
        """
        import ctypes, os, socket
        from drill.grader import sandbox
        try:
            sandbox.deny_sockets()
        except OSError:
            print("unavailable")
            sys.exit(0)

        def attempt(label, make):
            try:
                make()
                print(label, "allowed")
            except PermissionError:
                print(label, "refused")

        attempt("unix", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).close())
        attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close())
        attempt("tcp6", lambda: socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close())
        attempt("netlink", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW).close())
        attempt("socketpair", lambda: [end.close() for end in socket.socketpair()])
        attempt("pipe", lambda: [os.close(end) for end in os.pipe()])
        libc = ctypes.CDLL(None, use_errno=True)
        params = ctypes.create_string_buffer(120)
        failed = libc.syscall(sandbox.SYS_IO_URING_SETUP, 8, params) == -1
        print("io_uring", "refused" if failed and ctypes.get_errno() == 1 else "allowed")
        child = os.fork()  # the filter is inherited
        if child == 0:
            attempt("unix in a child", lambda: socket.socket(socket.AF_UNIX).close())
            os._exit(0)
        os.waitpid(child, 0)
        """
    )
    if out.strip() == "unavailable":
        pytest.skip("no seccomp filter on this system")
    assert out.splitlines() == [
        "unix refused",
        "udp refused",
        "tcp6 refused",
        "netlink allowed",
        "socketpair allowed",
        "pipe allowed",
        "io_uring refused",
        "unix in a child refused",
    ]


@pytest.mark.parametrize("machine", sorted(sandbox.SECCOMP_MACHINES))
def test_every_jump_of_the_socket_filter_lands_on_a_line_of_it(machine):
    program = sandbox.socket_filter(machine)
    returns = [i for i, (code, *_) in enumerate(program) if code == sandbox.BPF_RETURN]
    assert returns == [len(program) - 2, len(program) - 1]  # allow, then deny
    for index, (code, if_true, if_false, _) in enumerate(program):
        if code in (sandbox.BPF_JUMP_EQUAL, sandbox.BPF_JUMP_AT_LEAST):
            assert index + 1 + max(if_true, if_false) < len(program)
    arch, _ = sandbox.SECCOMP_MACHINES[machine]
    assert program[1] == (sandbox.BPF_JUMP_EQUAL, 0, len(program) - 3, arch)  # else deny


def test_missing_protections_are_named_in_words():
    full = sandbox.Protections("landlock", "seccomp", "pid namespace")
    assert full.missing() == []
    without_filter = sandbox.Protections("landlock", "namespace", "pid namespace")
    assert without_filter.missing() == ["isolation from local Unix sockets"]
    partial = sandbox.Protections("none", "landlock (TCP only)", "subreaper")
    assert partial.missing() == ["a read-only filesystem", "isolation from non-TCP networking"]
    bare = sandbox.Protections("none", "none", "none")
    assert len(bare.missing()) == 3


def test_the_worker_starts_before_numpy_is_imported_here():
    """The worker's start-up overlaps the parent's own imports only if starting it is cheap."""
    out = run_script(
        """
        from pathlib import Path
        from drill.grader.runner import open_session
        with open_session(Path(sys.argv[1]), timeout=10, memory_mb=512):
            print("numpy" in sys.modules)
        """,
        str(ROOT / "solutions" / "backprop.py"),
    )
    assert out.split() == ["False"]
