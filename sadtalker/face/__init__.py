"""The portrait side: landmarks, crop modes, 5-point alignment and 3DMM coefficients."""
