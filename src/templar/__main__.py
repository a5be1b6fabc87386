"""``python -m templar`` runs the ``templates`` command line."""

from templar.cli import main

if __name__ == "__main__":
    main()
