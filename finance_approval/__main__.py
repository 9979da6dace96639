"""`python -m finance_approval …` is the same as the `tollgate-finance` command."""

from finance_approval.cli import main

raise SystemExit(main())
