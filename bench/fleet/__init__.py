"""The fleet generator: a fleet-scale event history written by the real write side."""

from bench.fleet.generate import StoreNotEmptyError, seed_fleet
from bench.fleet.tally import BigFleet, FleetSummary, Tally

__all__ = ["BigFleet", "FleetSummary", "StoreNotEmptyError", "Tally", "seed_fleet"]
