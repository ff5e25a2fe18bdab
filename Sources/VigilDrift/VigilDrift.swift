// VigilDrift: placeholder until its issue lands.
public enum VigilDriftModule {}
