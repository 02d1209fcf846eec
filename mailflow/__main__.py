import sys

from .cli import main

# Guarded: the parser's fork server imports the main module in its children.
if __name__ == "__main__":
    sys.exit(main())
