"""The real system on this machine, for the tools that drive it from outside: the
end-to-end tests, `make bench` and `make faults` share this one harness (not shipped)."""
