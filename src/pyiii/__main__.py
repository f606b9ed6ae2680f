from pyiii.cli import main

raise SystemExit(main())
