"""Boot-and-assert: the scripted harness behind ``l4gdb run`` (``expect``,
``harness``, ``results``, ``junit``) and the pytest plugin (``pytest_plugin``)."""
