import sys

from affectcodec.cli import main

sys.exit(main())
