#!/usr/bin/env bash
# Create the virtual environment of benches/compare: NEST 3.10 and Brian2 2.9 from PyPI, versions
# pinned in requirements.txt. NEST installs from a wheel and needs no system packages; Brian2's
# cpp_standalone mode compiles C++ with the system's g++ (Debian/Ubuntu: apt-get install g++).
#
#   bash benches/compare/setup.sh [VENV]     (default: target/compare-venv)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${1:-$here/../../target/compare-venv}"

python=python3
# Brian2 2.9 and NEST 3.10 are tested with Python 3.11 here (Brian2 2.10+ needs a newer one).
if command -v python3.11 >/dev/null; then python=python3.11; fi
command -v g++ >/dev/null || echo "warning: no g++: Brian2's cpp_standalone mode cannot compile" >&2

"$python" -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
"$venv/bin/python" -c 'import nest, brian2; print("NEST", nest.__version__, "/ Brian2", brian2.__version__)'
