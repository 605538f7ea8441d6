import FleetLearning
import Foundation
import Testing

@Suite struct InferenceTests {
    @Test func fp32ModelMatchesReferenceAccuracy() throws {
        let model = try MLP(parameters: TestSafetensors.fp32Model(Fixtures.url("digits-mlp-v1-fp32.safetensors")))
        #expect(model.layerSizes == [64, 256, 128, 10])
        let test = try Fixtures.digits().filter(column: "split", equals: "test")
        let accuracy = try model.accuracy(on: test)
        #expect(abs(accuracy - 0.971) <= 0.002, "fp32 v1 test accuracy \(accuracy)")
    }

    @Test func int8ModelMatchesReferenceAccuracy() throws {
        let tensors = try TestSafetensors.int8Model(Fixtures.url("digits-mlp-v1-int8.safetensors"))
        let model = try MLP(parameters: TensorSet(dequantizing: tensors))
        let test = try Fixtures.digits().filter(column: "split", equals: "test")
        let accuracy = try model.accuracy(on: test)
        #expect(abs(accuracy - 0.973) <= 0.002, "int8 v1 test accuracy \(accuracy)")
    }

    @Test func predictionsCarryConfidences() throws {
        let model = try MLP(parameters: TestSafetensors.fp32Model(Fixtures.url("digits-mlp-v1-fp32.safetensors")))
        let test = try Fixtures.digits().filter(column: "split", equals: "test")
        let rows = (0..<5).map { Array(test.row($0)) }
        let predictions = try model.predict(rows: rows)
        #expect(predictions.count == 5)
        for prediction in predictions {
            #expect(abs(prediction.probabilities.reduce(0, +) - 1) < 1e-4)
            #expect(prediction.confidence == prediction.probabilities.max())
            #expect(prediction.probabilities[prediction.label] == prediction.confidence)
        }
        // Batched and row-by-row inference agree.
        let batch = try model.predict(test)
        #expect(batch.prefix(5).map(\.label) == predictions.map(\.label))
        #expect(throws: ModelError.self) { try model.predict(rows: [[1, 2, 3]]) }
    }
}

extension InferenceTests {
    @Test func fixtureTensorsKeepTheFileOrder() throws {
        let tensors = try TestSafetensors.fp32Model(Fixtures.url("digits-mlp-v1-fp32.safetensors"))
        #expect(tensors.names == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"])
    }
}
