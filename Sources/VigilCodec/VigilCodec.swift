// VigilCodec: placeholder until its issue lands.
public enum VigilCodecModule {}
