"""The core commands, one module per family; :mod:`templar.cli.app` adds them to the group."""
