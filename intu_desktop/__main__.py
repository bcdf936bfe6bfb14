import multiprocessing

from intu_desktop.cli import main

if __name__ == "__main__":
    # A frozen build starts the window's receiver processes through its own executable.
    multiprocessing.freeze_support()
    raise SystemExit(main())
