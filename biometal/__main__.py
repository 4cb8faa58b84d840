"""``python -m biometal``: the ``biometal`` command (see :mod:`biometal.cli`)."""

from biometal.cli import entry

if __name__ == "__main__":
    entry()
