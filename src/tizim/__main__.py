"""`python -m tizim` is the `tizim` command."""

from tizim.interfaces.cli import main

main()
