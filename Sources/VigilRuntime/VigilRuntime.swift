// VigilRuntime: placeholder until its issue lands.
public enum VigilRuntimeModule {}
