// VigilModels: placeholder until its issue lands.
public enum VigilModelsModule {}
