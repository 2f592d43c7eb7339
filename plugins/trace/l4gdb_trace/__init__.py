"""Timeline of a run in the Chrome trace-event format (opens in ui.perfetto.dev)."""
