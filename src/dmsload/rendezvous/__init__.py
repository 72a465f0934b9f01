"""`dmsload rendezvous`: the parties of a split run agree on one wall-clock start."""

from dmsload.rendezvous.meeting import RendezvousError, agreed_start, meet, rfc3339

__all__ = ["RendezvousError", "agreed_start", "meet", "rfc3339"]
