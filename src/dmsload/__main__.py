"""Allow `python -m dmsload`."""

from dmsload.cli import main

main()
