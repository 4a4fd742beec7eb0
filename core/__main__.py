"""``python -m core`` and the ``dendritic-microcircuits`` command: :func:`core.cli.main`.

A Ctrl-C while the command line's modules are imported (its first ~0.05 s, before
:func:`core.cli.main` takes over Ctrl-C) ends the command with the same line and exit code as
later, not with a traceback. Only the interpreter's own start-up comes earlier.
"""

import signal
import sys

# core.cli's PROG line and EXIT_INTERRUPTED, written out: importing core.cli is what this guards
INTERRUPTED_WHILE_STARTING = "python -m core: interrupted; nothing written"
EXIT_INTERRUPTED = 130


def main(argv=None):
    """Import the command line and run it; returns the exit code."""
    pressed = []

    def remember(signum, frame):
        pressed.append(signum)
        raise KeyboardInterrupt

    # as core.cli: leave SIGINT alone when it has another handler than Python's (nohup: ignored)
    ours = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if ours:
        signal.signal(signal.SIGINT, remember)
    try:
        from . import cli
    except KeyboardInterrupt:
        pressed.append(signal.SIGINT)
    finally:
        if ours:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    if pressed:  # also when the import swallowed the KeyboardInterrupt
        print(INTERRUPTED_WHILE_STARTING, file=sys.stderr)
        return EXIT_INTERRUPTED
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
