import VigilCodec
import VigilKafka
import VigilPipeline
import VigilTopology

/// Decodes records of a topology's source topic into events, by its source format: a JSON
/// object per record, or one CSV line per record with the columns in the order of the
/// topology's `fields`. `vigil run` and `vigil replay --topic` both decode through it, so a
/// replayed topic yields the events the live runtime saw.
final class SourceRecordDecoder {
    private let topology: Topology
    private let decoder: EventDecoder
    private let topic: String
    private var csvBinding: EventDecoder.CSVBinding?

    init(topology: Topology, pipeline: Pipeline, topic: String) {
        self.topology = topology
        self.topic = topic
        decoder = pipeline.makeDecoder()
    }

    /// Appends an event to `events` for each record that decodes, in order, calling
    /// `accepted` with its index in `messages`; `rejected` gets the index and the reason of
    /// each record that does not.
    func decode(
        _ messages: [ConsumedMessage], into events: inout EventBatch,
        accepted: (Int) -> Void, rejected: (Int, Rejection) throws -> Void
    ) throws {
        func provenance(_ message: ConsumedMessage) -> Provenance { Provenance(partition: message.partition, offset: message.offset) }
        let noValue = Rejection(stage: "decode", reason: "the record has no value")
        switch topology.source.format {
        case .json:
            for (index, message) in messages.enumerated() {
                let rejection: Rejection? = message.withValue { value in
                    guard let value, !value.isEmpty else { return noValue }
                    return decoder.appendJSON(value.assumingMemoryBound(to: UInt8.self), provenance: provenance(message), to: &events)
                }
                if let rejection { try rejected(index, rejection) } else { accepted(index) }
            }
        case .csv:
            if csvBinding == nil {
                csvBinding = try decoder.bind(header: topology.source.fields.map(\.name), file: topic)
            }
            // One CSV reader over the batch's values, one line each. A value that is not exactly
            // one line, or opens a quoted field it does not close (which would run on into the
            // next records' lines), is rejected up front.
            let delimiter = topology.source.delimiter
            var text: [UInt8] = []
            var lines: [Int] = []
            for (index, message) in messages.enumerated() {
                let rejection: Rejection? = message.withValue { value in
                    guard let value, value.count > 0 else { return noValue }
                    if let tooLarge = decoder.checkSize(value.count) { return tooLarge }
                    // One pass per value on this per-event path: line ends, and whether any quote needs the closer look.
                    var quoted = false
                    for byte in value {
                        if byte == 10 || byte == 13 { return Rejection(stage: "decode", reason: "a CSV event must be exactly one line") }
                        if byte == 34 { quoted = true }
                    }
                    guard !quoted || Self.quotedFieldsClose(value, delimiter: delimiter) else {
                        return Rejection(stage: "decode", reason: "a quoted CSV field is not closed on its line")
                    }
                    text.append(contentsOf: value)
                    text.append(10)
                    return nil
                }
                if let rejection { try rejected(index, rejection) } else { lines.append(index) }
            }
            guard !lines.isEmpty else { return }
            let reader = CSVReader(source: MemoryByteSource(text, name: topic), delimiter: delimiter, bufferSize: text.count + 1)
            var next = 0
            var failure: (any Error)?
            do {
                while next < lines.count, try reader.next() {
                    let index = lines[next]
                    next += 1
                    if let rejection = decoder.appendCSV(reader, binding: csvBinding!, provenance: provenance(messages[index]), to: &events) {
                        try rejected(index, rejection)
                    } else {
                        accepted(index)
                    }
                }
            } catch let error as CodecError {
                failure = error
            }
            // Not reachable with the checks above; should the reader still fail, the records it
            // did not read are rejected with the reason rather than failing the whole batch.
            for index in lines[next...] {
                try rejected(index, Rejection(stage: "decode", reason: failure.map { "not read as CSV: \($0)" } ?? "not read as CSV"))
            }
        }
    }

    /// Whether every quoted field of a one-line CSV value closes on it (RFC 4180, as
    /// ``CSVReader`` reads it: a quote opens a field only at the field's start, and a doubled
    /// quote inside is an escaped one).
    static func quotedFieldsClose(_ value: UnsafeRawBufferPointer, delimiter: UInt8) -> Bool {
        var index = 0
        var atFieldStart = true
        while index < value.count {
            let byte = value[index]
            if atFieldStart, byte == 34 {
                index += 1
                var closed = false
                while index < value.count {
                    if value[index] == 34 {
                        if index + 1 < value.count, value[index + 1] == 34 {
                            index += 2
                            continue
                        }
                        closed = true
                        index += 1
                        break
                    }
                    index += 1
                }
                guard closed else { return false }
                atFieldStart = false
                continue
            }
            atFieldStart = byte == delimiter
            index += 1
        }
        return true
    }
}
