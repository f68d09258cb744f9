"""Isolation of the grading worker on Linux, over the kernel's own interfaces (ctypes only).

- Filesystem: Landlock. The submission's process may read everything but write only beneath
  its private scratch folder.
- Network: a new network namespace (inside a new user namespace) with no interface up; where
  unprivileged user namespaces are not allowed, Landlock's network rules (ABI 4 and later)
  deny TCP bind and connect.
- Sockets: a seccomp filter makes socket() fail for Unix, IPv4 and IPv6 (and refuses
  io_uring, which could open sockets past it): a pathname Unix socket (a Docker daemon's,
  an SSH agent's) is a file the read-only filesystem and the network namespace both let a
  process connect to.
- Processes: a new PID namespace whose init is drill's supervisor, so killing every other
  process in it ends whatever a submission started, even after setsid() and a double fork;
  without namespaces, the supervisor is a child subreaper and kills its descendants itself.

The functions that ask what the kernel offers degrade to "not available" instead of raising;
those that apply a protection (restrict_self, deny_sockets, new_pid_namespace) raise OSError
when they cannot. `Protections` says what was obtained, in the words the report and the
JSON use.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

IS_LINUX = sys.platform.startswith("linux")

# Syscall numbers shared by every architecture drill runs on (x86-64, arm64, riscv64).
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

# Filesystem access rights, by the ABI version that introduced them.
FS_EXECUTE = 1 << 0
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
NET_BIND_TCP = 1 << 0
NET_CONNECT_TCP = 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1
READ_ONLY = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
CLONE_NEWPID = 0x20000000

NONE = "none"


@dataclass(frozen=True)
class Protections:
    """What the worker obtained, one word or phrase per kind of protection."""

    filesystem: str  # "landlock" or "none"
    # "seccomp" (no socket to anything, the namespace or not), "namespace" (no interface
    # up, but local Unix sockets reachable), "landlock (TCP only)" or "none"
    network: str
    processes: str  # "pid namespace", "subreaper" or "none"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)

    def missing(self) -> list[str]:
        """The protections this kernel did not offer, in words for a one-line warning."""
        gaps = []
        if self.filesystem == NONE:
            gaps.append("a read-only filesystem")
        if self.network == NONE:
            gaps.append("network isolation")
        elif self.network == "namespace":
            gaps.append("isolation from local Unix sockets")
        elif self.network != "seccomp":
            gaps.append("isolation from non-TCP networking")
        if self.processes == NONE:
            gaps.append("containment of the processes it starts")
        return gaps


def _libc() -> ctypes.CDLL | None:
    if not IS_LINUX:
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


_LIBC = _libc()


def _call(result: int) -> int:
    if result < 0:
        error = ctypes.get_errno()
        raise OSError(error, os.strerror(error))
    return result


def _syscall(number: int, *args: object) -> int:
    if _LIBC is None:
        raise OSError("not Linux")
    _LIBC.syscall.restype = ctypes.c_long
    return _call(_LIBC.syscall(ctypes.c_long(number), *args))


def _prctl(option: int, value: int, pointer: object = 0) -> None:
    if _LIBC is None:
        raise OSError("not Linux")
    _call(_LIBC.prctl(option, ctypes.c_ulong(value), pointer, 0, 0))


# --- process lifetime ------------------------------------------------------------------------


def die_with_parent(
    parent_alive: Callable[[], bool], death_signal: signal.Signals = signal.SIGKILL
) -> None:
    """Receive `death_signal` when the parent exits; at once if it is already gone.

    `parent_alive` is asked after the request, to close the window in which the parent
    could have died before it took effect.
    """
    if _LIBC is not None:
        _prctl(PR_SET_PDEATHSIG, death_signal)
    if not parent_alive():
        os.kill(os.getpid(), death_signal)


def become_subreaper() -> bool:
    """Adopt every orphaned descendant, so none can slip away by double forking."""
    try:
        _prctl(PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        return False
    return True


def enter_namespaces() -> bool:
    """New user, network and PID namespaces for this process's children; False if refused.

    Only the caller's children join the new PID namespace: the next one forked is its init.
    The user namespace maps the caller's own ids, so files keep their owners.
    """
    if _LIBC is None:
        return False
    uid, gid = os.getuid(), os.getgid()
    try:
        _call(_LIBC.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWPID))
    except OSError:
        return False
    with contextlib.suppress(OSError):  # cosmetic: without a map the ids read as 65534
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    return True


def new_pid_namespace() -> None:
    """Put this process's next children in a new PID namespace, nested in its own."""
    if _LIBC is None:
        raise OSError("not Linux")
    _call(_LIBC.unshare(CLONE_NEWPID))


def _write(path: str, text: str) -> None:
    with open(path, "w", encoding="ascii") as handle:
        handle.write(text)


def kill_descendants() -> None:
    """SIGKILL every process below this one and reap them, until none is left.

    The caller is either the init of its PID namespace (kill(-1) then reaches every other
    process in it) or a child subreaper (orphans are re-parented to it, so walking /proc
    for its descendants finds them all). Either way, once it has no child left, it has no
    descendant left. Never call kill(-1) outside a PID namespace of our own: it would reach
    every process of the user.
    """
    if os.getpid() == 1:
        # kill(-1) and fork() exclude each other in the kernel, and a fork fails once its
        # caller has a SIGKILL pending: after this one kill, no process in the namespace
        # can start another, so waiting for each to die is all that is left.
        with contextlib.suppress(ProcessLookupError):
            os.kill(-1, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            while True:
                os.waitpid(-1, 0)
        return
    while True:
        for pid in _descendants(os.getpid()):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        try:
            while os.waitpid(-1, os.WNOHANG)[0]:  # reap without waiting for the living
                pass
        except ChildProcessError:
            return
        time.sleep(0.002)  # some were forked while we killed, or are still dying


def _descendants(root: int) -> list[int]:
    """Every process below `root`, found in /proc ([] without one: not Linux)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        # The command name may hold spaces and parentheses: the fields follow its last ")".
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(name))
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


# --- Landlock ----------------------------------------------------------------------------------


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 when Landlock is missing or disabled."""
    try:
        return _syscall(
            SYS_LANDLOCK_CREATE_RULESET,
            None,
            ctypes.c_size_t(0),
            ctypes.c_uint32(LANDLOCK_CREATE_RULESET_VERSION),
        )
    except OSError:
        return 0


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _fs_rights(abi: int) -> int:
    return FS_RIGHTS_BY_ABI[max(version for version in FS_RIGHTS_BY_ABI if version <= abi)]


def landlock_ruleset(abi: int, writable: str, deny_tcp: bool) -> int:
    """A ruleset: read anywhere, write only beneath `writable`; TCP denied when asked.

    Returns its file descriptor, to be applied with `restrict_self` in the process that runs
    the submission. Signals and abstract Unix sockets are scoped to that process's own
    domain where the ABI allows (6 and later), so it cannot signal drill's processes.
    """
    everything = _fs_rights(abi)
    attr = _RulesetAttr(handled_access_fs=everything)
    size = 8
    if deny_tcp and abi >= 4:
        attr.handled_access_net = NET_BIND_TCP | NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
        size = 24
    fd = _syscall(
        SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    try:
        _allow(fd, "/", READ_ONLY)
        _allow(fd, writable, everything)
    except OSError:
        os.close(fd)
        raise
    return fd


def _allow(ruleset: int, path: str, rights: int) -> None:
    parent = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        rule = _PathBeneathAttr(allowed_access=rights, parent_fd=parent)
        _syscall(
            SYS_LANDLOCK_ADD_RULE,
            ctypes.c_int(ruleset),
            ctypes.c_int(LANDLOCK_RULE_PATH_BENEATH),
            ctypes.byref(rule),
            ctypes.c_uint32(0),
        )
    finally:
        os.close(parent)


def restrict_self(ruleset: int) -> None:
    """Apply the ruleset to this process and everything it starts, for good."""
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _syscall(SYS_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))


# --- seccomp ---------------------------------------------------------------------------------

PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
# By machine: the audit architecture the kernel reports, and socket()'s syscall number.
SECCOMP_MACHINES = {
    "x86_64": (0xC000003E, 41),
    "aarch64": (0xC00000B7, 198),
    "riscv64": (0xC00000F3, 198),
}
SYS_IO_URING_SETUP = 425  # the same on all of them
X32_SYSCALL_BIT = 0x40000000  # x86-64's x32 calls: another table of numbers, refused whole
AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
DENIED_FAMILIES = (AF_UNIX, AF_INET, AF_INET6)
# Classic BPF: load a 32-bit word of struct seccomp_data, compare and jump, return.
BPF_LOAD_WORD, BPF_JUMP_EQUAL, BPF_JUMP_AT_LEAST, BPF_RETURN = 0x20, 0x15, 0x35, 0x06
SECCOMP_DATA_NR, SECCOMP_DATA_ARCH, SECCOMP_DATA_ARG0 = 0, 4, 16  # ARG0: its low half
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_EPERM = 0x00050000 | 1  # fail the call with EPERM


class _SockFilter(ctypes.Structure):
    _fields_ = (
        ("code", ctypes.c_uint16),
        ("jt", ctypes.c_uint8),
        ("jf", ctypes.c_uint8),
        ("k", ctypes.c_uint32),
    )


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_uint16), ("filter", ctypes.POINTER(_SockFilter)))


def socket_filter(machine: str) -> list[tuple[int, int, int, int]]:
    """The BPF program, as (code, jump if true, jump if false, operand) lines: a foreign
    architecture's calls, x32 calls, io_uring_setup, and socket() for one of
    DENIED_FAMILIES fail with EPERM; every other call is allowed."""
    arch, socket_nr = SECCOMP_MACHINES[machine]
    # Each test: (field, comparison, value, where to go if true, if false).
    tests = [("arch", BPF_JUMP_EQUAL, arch, "next", "deny")]
    if machine == "x86_64":
        tests.append(("nr", BPF_JUMP_AT_LEAST, X32_SYSCALL_BIT, "deny", "next"))
    tests += [
        ("nr", BPF_JUMP_EQUAL, SYS_IO_URING_SETUP, "deny", "next"),
        ("nr", BPF_JUMP_EQUAL, socket_nr, "next", "allow"),
        *(("arg0", BPF_JUMP_EQUAL, family, "deny", "next") for family in DENIED_FAMILIES),
    ]
    offsets = {"nr": SECCOMP_DATA_NR, "arch": SECCOMP_DATA_ARCH, "arg0": SECCOMP_DATA_ARG0}
    lines: list[tuple[int, str, str, int]] = []
    loaded = None
    for field, comparison, value, if_true, if_false in tests:
        if field != loaded:
            lines.append((BPF_LOAD_WORD, "next", "next", offsets[field]))
            loaded = field
        lines.append((comparison, if_true, if_false, value))
    # Jumps count the lines they skip; the two returns follow the last test.
    where = {"allow": len(lines), "deny": len(lines) + 1}

    def skip(index: int, target: str) -> int:
        return where.get(target, index + 1) - index - 1

    program = [(code, skip(i, yes), skip(i, no), k) for i, (code, yes, no, k) in enumerate(lines)]
    return [*program, (BPF_RETURN, 0, 0, SECCOMP_RET_ALLOW), (BPF_RETURN, 0, 0, SECCOMP_RET_EPERM)]


def deny_sockets() -> None:
    """Install the socket filter on this process and everything it starts, for good.

    OSError where it cannot be installed (not Linux, another machine, no seccomp)."""
    machine = os.uname().machine if IS_LINUX else ""
    if _LIBC is None or machine not in SECCOMP_MACHINES:
        raise OSError("no seccomp filter for this system")
    program = socket_filter(machine)
    filters = (_SockFilter * len(program))(*(_SockFilter(*line) for line in program))
    prog = _SockFprog(len(program), filters)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    _prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(prog))
