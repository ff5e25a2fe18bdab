// VigilFeatures: placeholder until its issue lands.
public enum VigilFeaturesModule {}
