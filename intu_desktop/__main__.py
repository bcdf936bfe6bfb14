from intu_desktop.cli import main

raise SystemExit(main())
