"""What both services share: settings, Kafka plumbing, process running, metrics text."""
