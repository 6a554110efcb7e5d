"""Repository-wide pytest set-up (tests/, notebooks/ and widgets/ via nbval).

pytest-xdist runs two workers on two cores, each with torch's OpenMP threads; OpenMP's
default busy-waiting then makes small decompositions orders of magnitude slower (a 40 x 40
SVD: 80 ms instead of 0.15 ms). Passive waiting, set before torch is first imported and
inherited by nbval's kernels and the browser test's JupyterLab, keeps the run honest about
spectrakit's own speed.
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
