#!/usr/bin/env bash
# The Slurm tests' submitting environment .venv-slurm: the tests' .venv-test plus the Slurm executor plugin
# (`.[slurm]`). Snakemake imports every installed executor plugin when it starts, and the Slurm plugin imports
# pandas, so the plugin stays out of .venv-test (`.[test]`), whose `snakemake -n` plans without pandas
# (tests/test_planning.py). What submits to Slurm runs here: Snakemake with a Slurm profile, `newlogic preflight`.
# The layer installs only what .venv-test lacks: a .pth file puts .venv-test's site-packages on its path
# (after its own), so torch is not installed twice. Run after the README's test install; no root needed.
set -euo pipefail
cd "$(dirname "$0")/../.."
base=.venv-test/bin/python
if [ ! -x "$base" ]; then
    echo "slurm-venv: $base not found: install the tests' environment first (README, command 2)" >&2
    exit 2
fi
"$base" -m venv .venv-slurm
site_packages='import sysconfig; print(sysconfig.get_path("purelib"))'
layer=$("$base" -c "$site_packages")
# repr(): the path as a Python string literal, whatever characters the checkout's path holds
"$base" -c 'import sys; print(f"import site; site.addsitedir({sys.argv[1]!r})")' "$layer" \
    > "$(.venv-slurm/bin/python -c "$site_packages")/newlogic-layer.pth"
.venv-slurm/bin/pip install --quiet -e '.[slurm]'
echo "slurm-venv: .venv-slurm ready: the Slurm executor plugin over $layer"
