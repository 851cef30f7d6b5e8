import sys

from treadwalk.cli import main

sys.exit(main())
