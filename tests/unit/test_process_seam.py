"""process.py, the one subprocess entry point, sits below the plans: importing it must not import them."""

import subprocess
import sys


def test_process_does_not_import_plans() -> None:
    code = "import sys, sos_images.process; print('sos_images.plans' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
