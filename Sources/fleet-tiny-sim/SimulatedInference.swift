import FleetTinyKit

/// A simulated leaf's queries: each row classified with the installed int8 model read from the leaf's flash
/// (FleetTinyKit's ``TinyInference``), then metered (``TinyLeaf/meterInference()``) before it counts as answered.
enum SimulatedInference {
    /// Classifies `count` rows (in turn from `rows`) and describes the outcome:
    /// `inferences answered A refused R (quota-exhausted Q)`.
    static func run<P: TinyPlatform>(
        _ leaf: inout TinyLeaf<P, TinyFlashModelInstaller<SimulatedFlash>>,
        rows: [[Float]],
        count: Int
    ) -> String {
        let installer = leaf.installer
        guard let record = installer.store.active(installer.flash),
            let layout = try? TinyModelLayout(
                flash: installer.flash,
                offset: installer.store.offset(ofSlot: record.slot),
                length: record.length
            )
        else { return "inferences: the installed model cannot be read" }
        var scratch = [Float](repeating: 0, count: 2 * layout.widest)
        var probabilities = [Float](repeating: 0, count: layout.outputs)
        var answered = 0
        var exhausted = 0
        var refused = 0
        for index in 0..<count {
            let row = rows[index % rows.count]
            guard row.count >= layout.inputs else {
                return "inferences: rows have \(row.count) features, the model \(layout.inputs)"
            }
            var counter = TinyQueryCounter()
            let prediction = row.withUnsafeBufferPointer { input in
                scratch.withUnsafeMutableBufferPointer { work in
                    probabilities.withUnsafeMutableBufferPointer { output in
                        try? TinyInference.run(
                            layout,
                            flash: installer.flash,
                            input: input,
                            scratch: work,
                            probabilities: output,
                            meter: &counter
                        )
                    }
                }
            }
            guard prediction != nil else { return "inferences: the installed model cannot be run" }
            // The answer exists; it is given only once the meter has stored the query it draws.
            switch leaf.meterInference() {
            case .answered, .unmetered: answered += 1
            case .quotaExhausted:
                exhausted += 1
                refused += 1
            case .rateLimited, .ledgerFull, .storageFailed: refused += 1
            }
        }
        return "inferences answered \(answered) refused \(refused) (quota-exhausted \(exhausted))"
    }
}
