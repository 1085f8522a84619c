"""Run a command (by default the test suite) against a real PostgreSQL started for it.

    python tests/with_postgres.py -m pytest -q

starts PostgreSQL on 127.0.0.1, sets DATABASE_URL, runs ``python <args>``, stops the server.
"""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.builders.servers import postgres_server  # noqa: E402


def main(args):
    with postgres_server() as url:
        env = dict(os.environ, DATABASE_URL=url, HGS_TEST_DATABASE="postgresql")
        print(f"PostgreSQL running for the tests at {url}", flush=True)
        return subprocess.call([sys.executable, *args], env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or ["-m", "pytest", "-q"]))
