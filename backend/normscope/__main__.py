from normscope.cli import main

raise SystemExit(main())
