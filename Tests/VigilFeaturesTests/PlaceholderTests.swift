import Testing
@testable import VigilFeatures

@Test func featuresModuleLoads() { #expect(String(describing: VigilFeaturesModule.self) == "VigilFeaturesModule") }
