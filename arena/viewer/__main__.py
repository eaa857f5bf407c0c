"""`python -m arena.viewer` is `gamelab play`."""

import sys

from arena.viewer.play import main

sys.exit(main())
