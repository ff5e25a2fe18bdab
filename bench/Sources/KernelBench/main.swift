print("KernelBench: not written yet")
