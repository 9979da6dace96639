"""The `tollgate` command: the one way to run, migrate and operate Tollgate."""
