"""`python -m ondol`: the same command line as the `ondol` script."""

from ondol.cli import main

main()
