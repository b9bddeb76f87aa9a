import sys

from credd.cli import main

sys.exit(main())
