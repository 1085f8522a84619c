"""The allocator setting of the serving process (higlass_server/memory.py)."""

import subprocess
import sys


def test_allocator_settings_apply_on_glibc_when_the_wsgi_module_loads():
    """Run in a child process: mallopt changes the whole process, not only this test. Loading
    the WSGI module applies the settings; on this Linux/glibc machine both are accepted."""
    script = (
        "import higlass_server.memory as m\n"
        "calls = []\n"
        "real = m.keep_freed_memory\n"
        "m.keep_freed_memory = lambda: calls.append(real()) or calls[-1]\n"
        "import higlass_server.wsgi\n"
        "print(calls)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[True]"
