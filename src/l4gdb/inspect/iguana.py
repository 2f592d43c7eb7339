"""The ``iguana`` command family over the Iguana server's model
(``IguanaServer.snapshot()``): one module per subsystem."""

from __future__ import annotations

from l4gdb.inspect import iguana_caps, iguana_eas, iguana_memsections, iguana_pds, iguana_sessions

COMMANDS = {
    "pds": (iguana_pds.pds, "protection domains: parent, space, threads, memsections, EASes"),
    "memsections": (iguana_memsections.memsections,
                    "memsections: range, owner, kind, server, PDs attached with rights"),
    "caps": (iguana_caps.caps, "clists and the capabilities in them ([PD] to pick one PD)"),
    "sessions": (iguana_sessions.sessions, "sessions: owner, client, server, clist"),
    "eas": (iguana_eas.eas, "external address spaces: owner, space, areas, threads"),
}

NO_SERVER = "error: no Iguana server in this system (the program does not use libiguana)\n"
