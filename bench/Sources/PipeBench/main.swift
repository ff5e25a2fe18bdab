print("PipeBench: not written yet")
