import sys

from affectcodec import cli

sys.exit(cli.main())
