"""`python -m batchsim` runs the command line."""

from batchsim.cli import main

main()
