import sys

from clip2point.cli import main

sys.exit(main())
