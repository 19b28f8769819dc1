"""The access service: commands in, events stored and published, access answered."""
