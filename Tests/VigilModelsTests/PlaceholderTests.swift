import Testing
@testable import VigilModels

@Test func modelsModuleLoads() { #expect(String(describing: VigilModelsModule.self) == "VigilModelsModule") }
