"""``python -m templar`` runs the ``templates`` command line."""

from templar.cli import console_main

if __name__ == "__main__":
    console_main()
