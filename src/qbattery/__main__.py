"""``python -m qbattery``: the command-line interface (same as the ``qbattery`` script)."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
