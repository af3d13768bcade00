"""Stand-ins for what a user supplies, for tests, benchmarks and demos: random-weight
checkpoints in the official layout, and example inputs (the astronaut photo, speech).

Nothing on the inference path imports this package; the CLI's `weights synthesize` and
`example-inputs` commands do.
"""
