"""``python -m templar.bench``."""

import sys

from templar.bench import main

sys.exit(main())
