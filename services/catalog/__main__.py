"""`python -m puhui.catalog` serves; `python -m puhui.catalog seed --examples N --seed S` seeds."""

import sys

if len(sys.argv) > 1 and sys.argv[1] == "seed":
    from puhui.catalog.seed import main as seed_main

    seed_main(sys.argv[2:])
else:
    from puhui.catalog.server import main

    main()
