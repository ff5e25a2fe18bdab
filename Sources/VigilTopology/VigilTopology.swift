// VigilTopology: placeholder until its issue lands.
public enum VigilTopologyModule {}
