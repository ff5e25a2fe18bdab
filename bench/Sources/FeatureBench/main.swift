print("FeatureBench: not written yet")
