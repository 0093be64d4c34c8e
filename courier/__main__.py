import sys

from courier.cli import main

sys.exit(main())
