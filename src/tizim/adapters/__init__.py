"""Outside state systems (customs, border service, post, payments) behind small interfaces.

Each interface has a reference implementation backed by tables that `tizim feeds load`
fills from files; a live connection to the real system can replace it without touching the
services that read it.
"""
