SCENARIOS: list[object] = []
