"""GDB-side scripts (run in GDB's embedded Python, not imported by l4gdb)."""
