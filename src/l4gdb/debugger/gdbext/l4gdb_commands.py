# Loaded into GDB's embedded Python (the system's, not l4gdb's virtualenv), so it
# imports nothing of l4gdb: each command forwards to the host's stub as
# "monitor FAMILY NAME ARGS", where the one model of the system lives.
# l4gdb prepends L4GDB_COMMANDS = {family: {name: help}} when it loads this file.
import gdb  # noqa: I001

COMMANDS = globals().get("L4GDB_COMMANDS", {})


def _forward(words, arg):
    # Capture the answer and print it on GDB's stdout (GDB sends raw monitor
    # output to stderr), so tables land where the person's output goes.
    text = gdb.execute(f"monitor {words} {arg}".rstrip(), False, True)
    gdb.write(text)


class _Family(gdb.Command):
    def __init__(self, family):
        self.__doc__ = (f"Inspect the running system ({family}). Subcommands:\n"
                        + "\n".join(f"  {family} {n}: {d}" for n, d in
                                    COMMANDS[family].items())
                        + "\nEach takes --json for machine-readable output.")
        super().__init__(family, gdb.COMMAND_STATUS, gdb.COMPLETE_NONE, True)
        self.family = family

    def invoke(self, arg, from_tty):
        _forward(self.family, arg)


class _Sub(gdb.Command):
    def __init__(self, family, name, doc):
        self.__doc__ = f"{doc}\nUsage: {family} {name} [ARGS] [--json]"
        super().__init__(f"{family} {name}", gdb.COMMAND_STATUS)
        self.words = f"{family} {name}"

    def invoke(self, arg, from_tty):
        _forward(self.words, arg)

    def complete(self, text, word):
        return [o for o in ("--json",) if o.startswith(word or "")]


for _family, _cmds in COMMANDS.items():
    _Family(_family)
    for _name, _doc in _cmds.items():
        _Sub(_family, _name, _doc)
