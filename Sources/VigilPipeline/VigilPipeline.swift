// VigilPipeline: placeholder until its issue lands.
public enum VigilPipelineModule {}
